import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { esbuildApi, OWN_BUNDLE_OPTIONS } from "./esbuild.js";
import { MODULE_TREE, PACKAGE_ROOT } from "../_internal/package-root.js";
import { BundleError } from "../errors.js";

/**
 * What a flow's `import "flowpack"` is bundled from: flowpack's flow API (flow/runtime.js), which
 * `npm run build` also leaves as one module, `dist/flow-runtime.mjs`, with its packages (zod)
 * external. Bundling a flow from the one module is one esbuild↔plugin exchange instead of a chain
 * of them (runtime → flow → logger → name → errors → schema, each file loaded and its imports
 * resolved through the plugin before the next): ~45 ms of every `package`, one-shot or `--watch`.
 */
export const FLOW_RUNTIME_FILE = "flow-runtime.mjs";

/**
 * The flow runtime of a flowpack module tree (`<root>` = a built copy's `dist`, or `src` when run
 * from sources): the prebuilt module when there is one, else flow/runtime.js (or .ts).
 */
export function runtimeEntry(root: string): string | undefined {
  return [FLOW_RUNTIME_FILE, "flow/runtime.js", "flow/runtime.ts"].map((p) => resolve(root, p)).find((p) => existsSync(p));
}

/** Writes dist/flow-runtime.mjs from the built flow/runtime.js (run by `npm run build`). */
export async function writePrebuiltRuntime(): Promise<string> {
  const entry = join(MODULE_TREE, "flow", "runtime.js");
  if (!existsSync(entry)) throw new BundleError(`flowpack's flow runtime is missing: ${entry}`);
  const result = await esbuildApi.build({
    ...OWN_BUNDLE_OPTIONS,
    entryPoints: [entry],
    absWorkingDir: PACKAGE_ROOT,
    write: false,
    // zod stays an import: the flow's bundle takes it from the project when the versions agree.
    packages: "external",
    // Linked to the maps of tsc's output: a flow's bundle maps flowpack's frames to src/flow/*.ts, as before.
    sourcemap: "linked",
    logLevel: "silent",
    outdir: join(PACKAGE_ROOT, "dist"),
    entryNames: FLOW_RUNTIME_FILE.replace(/\.mjs$/, ""),
    outExtension: { ".js": ".mjs" },
  });
  for (const output of result.outputFiles) writeFileSync(output.path, output.contents);
  return join(PACKAGE_ROOT, "dist", FLOW_RUNTIME_FILE);
}
