// Part of `npm run build`, after tsc: writes the two bundles a built flowpack runs from.
//  - dist/runner.mjs: the in-image entrypoint (one self-contained module, put in every image).
//  - dist/cli.mjs: the CLI as one module. Node loads one file far faster than the ~150 modules
//    tsc leaves in dist/ (~0.2 s of every command here), and the CLI's own work is often that short.
//    esbuild stays external (it runs its platform binary); dockerode is loaded lazily by path.
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { writePrebuiltRunner } from "../dist/bundle/runner.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const runner = await writePrebuiltRunner();
console.error(`runner: ${relative(root, runner)}`);

const outfile = join(root, "dist", "cli.mjs");
await esbuild.build({
  entryPoints: [join(root, "dist", "cli", "main.js")],
  absWorkingDir: root,
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["esbuild", "dockerode"],
  // CommonJS dependencies (commander, undici, …) require Node built-ins; an ES module has no `require`.
  banner: { js: 'import { createRequire as __flowpackCreateRequire } from "node:module";\nconst require = __flowpackCreateRequire(import.meta.url);' },
  keepNames: true,
  legalComments: "none",
  sourcemap: "linked",
  logLevel: "warning",
});
console.error(`cli: ${relative(root, outfile)}`);
