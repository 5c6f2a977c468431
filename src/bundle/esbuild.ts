import { createRequire } from "node:module";
import type * as Esbuild from "esbuild";

/**
 * esbuild's JS API, loaded with `require`. esbuild ships CommonJS: `import`ing it makes Node run
 * its CommonJS export scanner over the ~100 KB module first, which cost more than loading it
 * (`node -e` here: +79 ms for `import("esbuild")`, +21 ms for `require("esbuild")`, medians of 19),
 * on every `package` and `bundle`. Types come from `import type * as esbuild from "esbuild"`.
 */
export const esbuildApi = createRequire(import.meta.url)("esbuild") as typeof Esbuild;

/**
 * What every bundle of flowpack's own code (the in-image runner, the flow runtime, the flow reader's
 * thread; the CLI's in scripts/build-bundles.mjs) is built with: one Node.js module, names kept for
 * stack traces and error classes, no legal comments.
 */
export const OWN_BUNDLE_OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  keepNames: true,
  legalComments: "none",
} as const satisfies Esbuild.BuildOptions;
