// Part of `npm run build`, after tsc: writes the bundles a built flowpack runs from.
//  - dist/runner.mjs: the in-image entrypoint (one self-contained module, put in every image).
//  - dist/flow-runtime.mjs: the flow API a flow's bundle gets for `import "flowpack"`, as one module.
//  - dist/flow-reader.mjs: the worker thread a one-shot `package` reads the flow's name and schema in.
//  - dist/cli.mjs: the CLI's entry: argument parsing and error reporting only (`--version` loads
//    nothing else). Node loads a few files far faster than the ~150 modules tsc leaves in dist/.
//  - dist/commands/<name>.cjs: each command with everything it uses, one CommonJS bundle per
//    command, loaded by name when that command runs (src/cli/command-table.ts) through V8's code
//    cache (src/cli/code-cache.ts: compiled once per install, not on every run).
//    esbuild stays external (it runs its platform binary); dockerode is loaded lazily by path; Ajv
//    is required from node_modules on a validator cache miss only (src/run/validate.ts).
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { writePrebuiltRunner } from "../dist/bundle/runner.js";
import { OWN_BUNDLE_OPTIONS } from "../dist/bundle/esbuild.js";
import { asciiOnly } from "../dist/bundle/ascii.js";
import { writePrebuiltRuntime } from "../dist/bundle/flow-runtime.js";
import { writePrebuiltFlowReader } from "../dist/flow/reader.js";
import { zodEnglishOnly } from "../dist/bundle/zod-english.js";
import { COMMAND_TABLE } from "../dist/cli/command-table.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const runner = await writePrebuiltRunner();
console.error(`runner: ${relative(root, runner)}`);
const runtime = await writePrebuiltRuntime();
console.error(`flow runtime: ${relative(root, runtime)}`);
const reader = await writePrebuiltFlowReader();
console.error(`flow reader: ${relative(root, reader)}`);

/** The CLI's bundles (its entry, each command): esbuild, dockerode and Ajv stay packages; zod's English messages only, as the runner's (src/bundle/zod-english.ts). */
const cliOptions = { absWorkingDir: root, external: ["esbuild", "dockerode", "ajv"], logLevel: "warning", plugins: [zodEnglishOnly] };

// Each command as one CommonJS bundle (dist/commands/<name>.cjs, no code shared between them: one
// is loaded per run), which the CLI loads through V8's code cache (src/cli/code-cache.ts).
const commandBundles = join(root, "dist", "commands");
await rm(commandBundles, { recursive: true, force: true });
const commands = await esbuild.build({
  write: false,
  entryPoints: Object.fromEntries(Object.keys(COMMAND_TABLE).map((name) => [name, join(root, "dist", "cli", "commands", `${name}.js`)])),
  ...OWN_BUNDLE_OPTIONS,
  ...cliOptions,
  outdir: commandBundles,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  // import.meta.url (flowpack finds its own files from it) as the bundle's file URL.
  define: { "import.meta.url": "__flowpackModuleUrl" },
  banner: { js: 'var __flowpackModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// ASCII only (asciiOnly: the comments esbuild keeps escaped too), so that the CLI reads them as
// latin1 (several times faster than decoding UTF-8; a bundle is read on every run).
await mkdir(commandBundles, { recursive: true });
for (const output of commands.outputFiles) await writeFile(output.path, asciiOnly(output.contents));
console.error(`commands: ${relative(root, commandBundles)}/{${Object.keys(COMMAND_TABLE).join(",")}}.cjs`);

const outfile = join(root, "dist", "cli.mjs");
/** The command modules stay out of dist/cli.mjs: the built CLI loads their bundles (above). */
const commandsApart = {
  name: "flowpack-commands-apart",
  setup(build) {
    build.onResolve({ filter: /^\.\/commands\/[a-z]+\.js$/ }, (args) => (args.importer.endsWith("command-table.js") ? { path: args.path, external: true } : undefined));
  },
};
// Builds before the command bundles split the CLI into dist/cli-chunks/: none is left in dist/.
await rm(join(root, "dist", "cli-chunks"), { recursive: true, force: true });
const built = await esbuild.build({
  metafile: Boolean(process.env.FLOWPACK_BUILD_METAFILE),
  entryPoints: [join(root, "dist", "cli", "main.js")],
  outfile,
  ...OWN_BUNDLE_OPTIONS,
  ...cliOptions,
  plugins: [...cliOptions.plugins, commandsApart],
  // CommonJS dependencies (commander, …) require Node built-ins; an ES module has no `require`.
  banner: { js: 'import { createRequire as __flowpackCreateRequire } from "node:module";\nconst require = __flowpackCreateRequire(import.meta.url);' },
  sourcemap: "linked",
});
console.error(`cli: ${relative(root, outfile)}`);
// FLOWPACK_BUILD_METAFILE=FILE: esbuild's metafile of the CLI's entry (which inputs it holds, who imports whom).
if (process.env.FLOWPACK_BUILD_METAFILE) await writeFile(process.env.FLOWPACK_BUILD_METAFILE, JSON.stringify(built.metafile));
