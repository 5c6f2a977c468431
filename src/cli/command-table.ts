import { join } from "node:path";
import type { Command } from "commander";
import { MODULE_TREE, PACKAGE_ROOT } from "../_internal/package-root.js";
import { startEsbuildService } from "../bundle/esbuild-service.js";
import { prestartReaderThread } from "../flow/reader-thread.js";
import { requireWithCodeCache } from "./code-cache.js";
import type { Output } from "./output.js";
import type { WarmContext } from "./warm/server.js";
import type * as WarmCommand from "./commands/warm.js";

type WarmModule = typeof WarmCommand;

/** Adds one command (its options and action) to the program; `context`: set in a warm process (warm/server.ts). */
export type RegisterCommand = (program: Command, output: () => Output, context?: WarmContext) => void;

/** Loads a command's module; `argv` (the CLI's arguments) lets it start work its command will need. */
export type LoadCommand = (argv?: readonly string[], context?: WarmContext) => Promise<RegisterCommand>;

/**
 * Every command, by name, with the module that defines it, loaded only when that command runs:
 * each module brings its own dependencies (the bundler, the Engine and registry clients, Ajv), and
 * a command should pay only for what it uses (`--version` for none of them). The built CLI loads
 * each command from a bundle of its own, `dist/commands/<name>.cjs`, through V8's code cache
 * (code-cache.ts; built by scripts/build-bundles.mjs); from sources, from its module.
 */
export const COMMAND_TABLE: Readonly<Record<string, LoadCommand>> = {
  package: async (argv = [], context) => {
    // A one-shot package reads the flow in a thread (flow/reader.ts): started now, it boots while
    // the command loads. (`--watch` and a warm process read in this thread, where the packages stay
    // loaded between builds.)
    if (!context?.warm && !argv.includes("--watch") && !argv.includes("-w")) prestartReaderThread();
    startEsbuildService(); // and esbuild's process, for the bundling to come
    return (await loadCommand("package", () => import("./commands/package.js"))).registerPackage;
  },
  run: async () => (await loadCommand("run", () => import("./commands/run.js"))).registerRun,
  export: async () => (await loadCommand("export", () => import("./commands/export.js"))).registerExport,
  inspect: async () => (await loadCommand("inspect", () => import("./commands/inspect.js"))).registerInspect,
  bundle: async () => {
    startEsbuildService();
    return (await loadCommand("bundle", () => import("./commands/bundle.js"))).registerBundle;
  },
  schema: async () => (await loadCommand("schema", () => import("./commands/schema.js"))).registerSchema,
  warm: async () => (await loadWarm()).registerWarm,
};

/** The `warm` command's module, which also holds what the CLI's entry uses of warm processes (loaded only when they are). */
export function loadWarm(): Promise<WarmModule> {
  return loadCommand("warm", () => import("./commands/warm.js"));
}

/** Where the built CLI's command bundles are (see COMMAND_TABLE). */
const COMMAND_BUNDLES = join(PACKAGE_ROOT, "dist", "commands");

const loaded = new Map<string, Promise<unknown>>();

/**
 * A command's module: its bundle when this is the built CLI, else the module itself. Loaded once per
 * process (a warm process runs many commands: their modules' state, the caches in it, carries over).
 */
function loadCommand<T>(name: string, fromSources: () => Promise<T>): Promise<T> {
  let module = loaded.get(name);
  if (!module) {
    module = MODULE_TREE !== join(PACKAGE_ROOT, "dist") ? fromSources() : requireWithCodeCache(join(COMMAND_BUNDLES, `${name}.cjs`));
    loaded.set(name, module);
  }
  return module as Promise<T>;
}

/** The program's own options that take no value and may come before the command's name. */
const GLOBAL_FLAGS = new Set(["--json", "--debug"]);

/**
 * Which commands to register for these arguments: only the named one when the first argument after
 * the global flags names a command (or `help <command>` does); none for a bare `--version`; every one
 * otherwise, so `--help` lists them all and a mistyped name gets commander's own message and suggestion.
 */
export function commandsFor(argv: readonly string[]): string[] {
  const known = Object.keys(COMMAND_TABLE);
  const words = argv.filter((arg) => !GLOBAL_FLAGS.has(arg));
  const [first, second] = words;
  if (first !== undefined && known.includes(first)) return [first];
  if (first === "help" && second !== undefined && known.includes(second)) return [second];
  if (first === "-V" || first === "--version") return [];
  return known;
}
