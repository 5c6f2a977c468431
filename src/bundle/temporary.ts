import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../_internal/fs.js";
import { BUNDLE_FILE, type Bundle } from "./bundle.js";

/** The parts of a bundle needed to import it. */
export type LoadableBundle = Pick<Bundle, "code" | "digest" | "projectRoot"> & { map?: Buffer };

/**
 * Writes a bundle where it can be imported: under the project's `node_modules/.cache` so that its
 * external packages resolve as they do in the project, else under the OS temp folder.
 * Named by digest, so repeated loads of the same code reuse one file.
 */
export async function writeTemporaryBundle(bundle: LoadableBundle): Promise<string> {
  const hex = bundle.digest.slice("sha256:".length, "sha256:".length + 16);
  for (const base of [join(bundle.projectRoot, "node_modules", ".cache", "flowpack"), join(tmpdir(), "flowpack")]) {
    try {
      const dir = join(base, hex);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, BUNDLE_FILE);
      if (bundle.map) await writeFileAtomic(`${file}.map`, bundle.map);
      await writeFileAtomic(file, bundle.code);
      return file;
    } catch {
      // not writable: try the next place
    }
  }
  throw new Error("no writable folder for a temporary bundle (tried the project's node_modules/.cache and the OS temp folder)");
}
