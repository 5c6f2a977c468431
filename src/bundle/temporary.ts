import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { importScript } from "../flow/select.js";
import { defaultCacheDir } from "../_internal/cache-dir.js";
import { BUNDLE_FILE, type Bundle } from "./bundle.js";
import { VENDOR_FILE } from "./vendor.js";

/** The parts of a bundle needed to import it. */
export type LoadableBundle = Pick<Bundle, "code" | "projectRoot"> & { map?: Buffer; vendor?: Pick<NonNullable<Bundle["vendor"]>, "code" | "map"> };

/**
 * Imports a bundle and returns its module namespace. The bundle is written to a fresh private
 * folder (mkdtemp) under the project's `node_modules/.cache/flowpack`, so that its external
 * packages resolve as they do in the project; without a project (no package.json) under the
 * per-user cache folder instead. The folder is removed once the import has completed (the module
 * stays loaded).
 */
export async function importBundle(bundle: LoadableBundle): Promise<Record<string, unknown>> {
  const dir = await temporaryFolder(bundle.projectRoot);
  try {
    // A private, fresh folder that is removed afterwards: plain writes, no fsync.
    const file = join(dir, BUNDLE_FILE);
    await Promise.all([
      bundle.map && writeFile(`${file}.map`, bundle.map),
      bundle.vendor && writeFile(join(dir, VENDOR_FILE), bundle.vendor.code),
      bundle.vendor && writeFile(join(dir, `${VENDOR_FILE}.map`), bundle.vendor.map),
    ]);
    await writeFile(file, bundle.code);
    return await importScript(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function temporaryFolder(projectRoot: string): Promise<string> {
  const bases = [join(defaultCacheDir(), "bundles")];
  if (existsSync(join(projectRoot, "package.json"))) bases.unshift(join(projectRoot, "node_modules", ".cache", "flowpack"));
  let failure: unknown;
  for (const base of bases) {
    try {
      await mkdir(base, { recursive: true });
      return await mkdtemp(join(base, "bundle-"));
    } catch (error) {
      failure ??= error; // not writable: try the next place
    }
  }
  throw new Error(`no writable folder for a temporary bundle (tried ${bases.join(", ")}): ${(failure as Error).message}`);
}
