import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { sha256, type Sha256Digest } from "../_internal/digest.js";
import { BundleError } from "../errors.js";

/** File name of the in-image entrypoint, beside the flow bundle. */
export const RUNNER_FILE = "runner.mjs";

let cached: Promise<{ code: Buffer; digest: Sha256Digest }> | undefined;

/**
 * The in-image entrypoint as one self-contained ES module, built from this copy of flowpack
 * (deterministic: the same flowpack gives the same bytes). Built once per process.
 */
export function runnerBundle(): Promise<{ code: Buffer; digest: Sha256Digest }> {
  cached ??= build();
  return cached;
}

async function build(): Promise<{ code: Buffer; digest: Sha256Digest }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = ["entrypoint.js", "entrypoint.ts"].map((f) => resolve(here, f)).find((f) => existsSync(f));
  if (!entry) throw new BundleError(`flowpack's runner entrypoint is missing next to ${here}`);
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: resolve(here, "..", ".."),
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    keepNames: true,
    legalComments: "none",
    logLevel: "silent",
    outfile: RUNNER_FILE,
  });
  const code = Buffer.from(result.outputFiles[0]!.contents);
  return { code, digest: sha256(code) };
}
