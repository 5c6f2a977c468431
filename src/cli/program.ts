// The CLI's program: its commands and options (commander), running one, reporting its error.
// Loaded by the entry (main.ts) when the command is to run in this process.
import { setFlagsFromString } from "node:v8";
import { FLOWPACK_VERSION } from "../_internal/version.js";
import { Command, CommanderError } from "commander";
import { UsageError } from "../errors.js";
import { COMMAND_TABLE, commandsFor } from "./command-table.js";
import { saveCodeCaches } from "./code-cache.js";
import { reportError } from "../_internal/report.js";
import { createOutput, type Output } from "./output.js";
import type { WarmContext } from "./warm/server.js";

const version = FLOWPACK_VERSION;

/** Runs the CLI with `argv`; its exit code. `context`: set when a warm process runs it for a client (warm/server.ts). */
export async function main(argv: string[], context?: WarmContext): Promise<number> {
  // undici parses HTTP with a WebAssembly build of llhttp. V8 compiles it twice: at once with its
  // baseline compiler, then again with its optimising one in the background, and a process does not
  // exit until that background job ends (~0.1 s of every registry command, here). The baseline code
  // is plenty for a CLI's requests, so skip the second compile. (The CLI only; the library leaves
  // V8 alone.) Must run before the first request compiles the module.
  setFlagsFromString("--liftoff-only");
  // Stacks of the flows this process loads (run, package) point into the user's files, through the
  // `.map` beside each bundle, when a stack is shown: with --debug, and in --json records. Only then:
  // with source maps on, Node parses every map as its module loads, and (with the registry client's
  // async context) that made a one-shot `package` ~20% slower. flowpack's own modules stay unmapped.
  const sourceMaps = argv.includes("--debug") || argv.includes("--json");
  // (A warm process sets it for each build: the last one's setting must not carry over.)
  if (sourceMaps || context) process.setSourceMapsEnabled(sourceMaps);
  const program = new Command("flowpack")
    .description("package TypeScript flows so they run anywhere, and run them again from their manifest")
    .version(version)
    .option("--json", "machine-readable output on stdout")
    .option("--debug", "show stack traces")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  const output = (): Output => createOutput(program.opts<{ json?: boolean; debug?: boolean }>());
  // Only the command that runs is loaded (with its dependencies); `--help` loads them all to list them.
  const registers = await Promise.all(commandsFor(argv).map((name) => COMMAND_TABLE[name]!(argv, context)));
  for (const register of registers) register(program, output, context);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeErr: () => undefined });

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    const opts = program.opts<{ json?: boolean; debug?: boolean }>();
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.exitCode === 0) return 0;
      if (error.code === "commander.help") return 0;
      const message = error.message.replace(/^error: /, "");
      return reportError(new UsageError(message, { hint: "run flowpack --help for usage" }), Boolean(opts.debug), Boolean(opts.json));
    }
    // `run --each` has written its JSON lines on stdout already: its error goes to stderr only.
    const json = Boolean(opts.json) && !(error as { resultLinesWritten?: boolean }).resultLinesWritten;
    return reportError(error, Boolean(opts.debug) || argv.includes("--debug"), json);
  } finally {
    // After the command (and its error's report: a stopped run may exit before this finishes).
    await saveCodeCaches();
  }
}

