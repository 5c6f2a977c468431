import type { Command } from "commander";
import type { Output } from "./output.js";

/** Adds one command (its options and action) to the program. */
export type RegisterCommand = (program: Command, output: () => Output) => void;

/** Loads a command's module; `argv` (the CLI's arguments) lets it start work its command will need. */
export type LoadCommand = (argv?: readonly string[]) => Promise<RegisterCommand>;

/**
 * Every command, by name, with the module that defines it, loaded only when that command runs:
 * each module brings its own dependencies (the bundler, the Engine and registry clients, Ajv), and
 * a command should pay only for what it uses (`--version` for none of them). In the built CLI each
 * `import()` here is a chunk of its own (scripts/build-bundles.mjs).
 */
export const COMMAND_TABLE: Readonly<Record<string, LoadCommand>> = {
  package: async (argv = []) => {
    // A one-shot package reads the flow in a thread (flow/reader.ts): started now, it boots while
    // this command's modules load. (`--watch` reads in this thread, keeping the packages loaded.)
    if (!argv.includes("--watch") && !argv.includes("-w")) void import("../flow/reader.js").then((reader) => reader.prestartFlowReader());
    return (await import("./commands/package.js")).registerPackage;
  },
  run: async () => (await import("./commands/run.js")).registerRun,
  export: async () => (await import("./commands/export.js")).registerExport,
  inspect: async () => (await import("./commands/inspect.js")).registerInspect,
  bundle: async () => (await import("./commands/bundle.js")).registerBundle,
  schema: async () => (await import("./commands/schema.js")).registerSchema,
};

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
