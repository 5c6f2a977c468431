import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { esbuildApi, OWN_BUNDLE_OPTIONS } from "./esbuild.js";
import type { Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { MODULE_TREE, PACKAGE_ROOT } from "../_internal/package-root.js";
import { BundleError } from "../errors.js";
import { zodEnglishOnly } from "./zod-english.js";

/** File name of the in-image entrypoint, beside the flow bundle. */
export const RUNNER_FILE = "runner.mjs";

let cached: Promise<{ code: Buffer; digest: Sha256Digest }> | undefined;

/**
 * The in-image entrypoint as one self-contained ES module, built from this copy of flowpack
 * (deterministic: the same flowpack gives the same bytes). Built once per process.
 */
export function runnerBundle(): Promise<{ code: Buffer; digest: Sha256Digest }> {
  cached ??= prebuilt() ?? build();
  return cached;
}

/** Where `npm run build` leaves the runner: dist/runner.mjs (not used when running from src/). */
const PREBUILT = join(PACKAGE_ROOT, "dist", RUNNER_FILE);

function prebuilt(): Promise<{ code: Buffer; digest: Sha256Digest }> | undefined {
  if (MODULE_TREE !== join(PACKAGE_ROOT, "dist") || !existsSync(PREBUILT)) return undefined;
  const code = readFileSync(PREBUILT);
  return Promise.resolve({ code, digest: sha256(code) });
}

/** Writes the runner where a built flowpack finds it (run by `npm run build`). */
export async function writePrebuiltRunner(): Promise<string> {
  const { code } = await build();
  writeFileSync(PREBUILT, code);
  return PREBUILT;
}

async function build(): Promise<{ code: Buffer; digest: Sha256Digest }> {
  const entry = ["entrypoint.js", "entrypoint.ts"].map((f) => join(MODULE_TREE, "run", f)).find((f) => existsSync(f));
  if (!entry) throw new BundleError(`flowpack's runner entrypoint is missing in ${join(MODULE_TREE, "run")}`);
  const result = await esbuildApi.build({
    ...OWN_BUNDLE_OPTIONS,
    entryPoints: [entry],
    absWorkingDir: PACKAGE_ROOT,
    write: false,
    minify: true,
    logLevel: "silent",
    outfile: RUNNER_FILE,
    plugins: [zodEnglishOnly],
  });
  const code = Buffer.from(result.outputFiles[0]!.contents);
  return { code, digest: sha256(code) };
}
