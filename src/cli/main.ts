#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
import { FLOWPACK_VERSION } from "../_internal/version.js";
import { Command, CommanderError } from "commander";
import { UsageError } from "../errors.js";
import { COMMAND_TABLE, commandsFor, loadWarm } from "./command-table.js";
import { saveCodeCaches } from "./code-cache.js";
import { reportError } from "../_internal/report.js";
import { exitOnceDone } from "../_internal/stop.js";
import { createOutput, type Output } from "./output.js";
import { SERVE_VARIABLE, WARM_VARIABLE, servedWarm } from "./warm/names.js";
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

const argv = process.argv.slice(2);
if (process.env[SERVE_VARIABLE]) {
  // A warm process, started by a client below: it serves until idle (warm/server.ts).
  const warm = await loadWarm();
  // Ready for the first build: the command loaded, esbuild's process and a reader thread started.
  await warm.serveWarm(main, async () => void (await COMMAND_TABLE.package!(["package"])));
} else {
  const exitCode = await runHere(argv);
  // Stopped by SIGINT/SIGTERM: a flow that ran here may have left timers or sockets behind; they must
  // not keep flowpack running past the grace period it was given.
  if (exitCode === 130 || exitCode === 143) process.exit(exitCode);
  // Done: a flow that ran or was read here may have left something running that never ends.
  exitOnceDone(exitCode, process.env, (message) => process.stderr.write(`flowpack: warning: ${message}\n`));
}

/**
 * Runs the command, in this process or (FLOWPACK_WARM=1, a one-shot `package`) in the warm process
 * kept for this shape of invocation; where there was none, one is started for the next time.
 */
async function runHere(argv: string[]): Promise<number> {
  if (process.env[WARM_VARIABLE] !== "1" || !servedWarm(argv)) return main(argv);
  const warm = await loadWarm();
  // The environment as it is now: the warm process started below gets this one, whatever a flow's
  // module read in this process does to process.env meanwhile.
  const env = { ...process.env };
  const place = warm.warmPlace(env, process.cwd(), process.argv[1]!);
  if (!place) return main(argv);
  const handed = await warm.handToWarm(place, argv);
  if (handed.done) {
    // Stopped by Ctrl-C: end as that signal ends a process, for the shell and scripts to see.
    if ("signal" in handed) process.kill(process.pid, handed.signal);
    return handed.code;
  }
  const exitCode = await main(argv);
  if (handed.reason === "none") warm.startWarm(place, process.argv[1]!, env);
  return exitCode;
}
