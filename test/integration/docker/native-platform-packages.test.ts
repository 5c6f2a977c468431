import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { docker } from "../../helpers/docker.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

const exec = promisify(execFile);

// sharp loads its binary from an optional per-platform package (@img/sharp-linux-x64) by a computed
// name: bundled, it fails at run time. The project is installed from npm with its own lockfile
// (`npm ci`), once per lockfile.
const work = mkdtempSync(join(tmpdir(), "flowpack-sharp-"));
let env: NodeJS.ProcessEnv;
let project: string;
let baseImage: string;

/** The fixture installed by `npm ci` into a folder named after its lockfile (reused while that is unchanged). */
async function installedProject(): Promise<string> {
  const source = fixture("sharp-project");
  const lock = readFileSync(join(source, "package-lock.json"));
  const dir = join(tmpdir(), `flowpack-fixture-sharp-${createHash("sha256").update(lock).update(readFileSync(join(source, "package.json"))).digest("hex").slice(0, 16)}`);
  if (existsSync(join(dir, "node_modules", ".package-lock.json"))) return dir;
  const staging = mkdtempSync(`${dir}.staging-`);
  cpSync(source, staging, { recursive: true });
  await exec("npm", ["ci", "--no-audit", "--no-fund"], { cwd: staging, timeout: 300_000 });
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return dir;
}

/**
 * The test base image holds only what node itself links against; sharp's libvips also needs
 * libraries every Debian image has (libresolv, …). A base with the host's copies of them added.
 */
async function baseWithSharpLibraries(dir: string): Promise<string> {
  const context = join(work, "base");
  const binaries = [join(dir, "node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node")];
  const { stdout } = await exec("ldd", binaries);
  const libraries = [...stdout.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]!).filter((path) => !path.includes("node_modules"));
  for (const library of new Set(libraries)) {
    const target = join(context, "rootfs", library);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(realpathSync(library), target);
  }
  writeFileSync(join(context, "Dockerfile"), `FROM ${services().FLOWPACK_TEST_BASE_IMAGE}\nCOPY rootfs/ /\n`);
  const ref = `${services().FLOWPACK_TEST_REGISTRY}/flowpack-test/node-sharp-libs:20`;
  for (const args of [["build", "-q", "-t", ref, context], ["push", "-q", ref]]) {
    const r = await docker(args);
    if (r.code !== 0) throw new Error(`docker ${args[0]} failed: ${r.stderr}`);
  }
  return ref;
}

describe.runIf(process.platform === "linux" && process.arch === "x64")("packages that load platform binaries by computed names", () => {
  beforeAll(async () => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
    project = await installedProject();
    baseImage = await baseWithSharpLibraries(project);
  });

  it("sharp stays external, ships with its @img platform packages and runs in a container", async () => {
    const manifest = join(work, "sharp.json");
    const p = await flowpack(["package", join(project, "src/thumbnail.ts"), "--packager", "docker", "--builder", "oci", "--base-image", baseImage, "--registry", `${services().FLOWPACK_TEST_REGISTRY}/native`, "-o", manifest], { env });
    expect(p.stderr).not.toContain("Error:");
    expect(p.code).toBe(0);
    const externals = (JSON.parse(readFileSync(manifest, "utf8")) as { metadata: { externals?: { name: string }[] } }).metadata.externals ?? [];
    expect(externals.map((e) => e.name)).toContain("sharp");
    const r = await flowpack(["run", manifest, "--network", "none", "-p", "width=3", "-p", "height=2"], { env });
    expect(r.stderr).not.toContain("Could not load");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ format: "png", width: 3, height: 2, channels: 3, bytes: true });
  });
});
