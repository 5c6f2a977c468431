import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fixture } from "./paths.js";

const exec = promisify(execFile);

/**
 * A fixture project (test/fixtures/<name>, with its own package.json and package-lock.json),
 * copied out of the repository and installed with `npm ci`, as a user's checkout would be. The
 * installed copy is kept in the temporary folder, keyed by the project's files, so a rerun that
 * changed none of them reuses it. Tests must not write into it (give --output/--store elsewhere).
 */
export async function installedProject(name: string): Promise<string> {
  const source = fixture(name);
  const key = createHash("sha256");
  for (const file of ["package.json", "package-lock.json", "src/flow.ts"]) key.update(file).update(readFileSync(join(source, file)));
  const dir = join(tmpdir(), "flowpack-test-projects", `${name}-${key.digest("hex").slice(0, 16)}`);
  if (existsSync(join(dir, "node_modules"))) return dir;
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  cpSync(source, building, { recursive: true, filter: (path) => !path.includes("node_modules") });
  await exec("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: building, timeout: 300_000 });
  try {
    renameSync(building, dir);
  } catch (error) {
    if (!existsSync(join(dir, "node_modules"))) throw error; // else another run installed it first
    rmSync(building, { recursive: true, force: true });
  }
  return dir;
}
