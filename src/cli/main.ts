#!/usr/bin/env node
// The CLI's entry. A one-shot `package` is handed to a warm process (warm/; at a terminal outside CI,
// or FLOWPACK_WARM=1) before the program (program.ts: commander, every command's options) is even loaded.
import { COMMAND_TABLE, loadWarm } from "./command-table.js";
import { exitOnceDone } from "../_internal/stop.js";
import { SERVE_VARIABLE, WARM_VARIABLE, quietIn, servedWarm, warmChoice } from "./warm/names.js";
import type { main as Main } from "./program.js";

const loadMain = async (): Promise<typeof Main> => (await import("./program.js")).main;

const argv = process.argv.slice(2);
if (process.env[SERVE_VARIABLE]) {
  // A warm process, started by a client below: it serves until idle (warm/server.ts).
  const warm = await loadWarm();
  // Ready for the first build: the command loaded, esbuild's process and a reader thread started.
  const main = await loadMain();
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
 * Runs the command, in this process or (a one-shot `package`, warmChoice) in the warm process kept
 * for this shape of invocation; where there was none, one is started for the next time.
 */
async function runHere(argv: string[]): Promise<number> {
  const here = async () => (await loadMain())(argv);
  if (!servedWarm(argv)) return here();
  const choice = warmChoice(process.env, Boolean(process.stderr.isTTY));
  if (choice.invalid !== undefined) {
    process.stderr.write(`flowpack: warning: ${WARM_VARIABLE}=${JSON.stringify(choice.invalid)} is neither 1 nor 0; using the default (warm processes at a terminal, outside CI)\n`);
  }
  if (!choice.warm) return here();
  const warm = await loadWarm();
  // The environment as it is now: the warm process started below gets this one, whatever a flow's
  // module read in this process does to process.env meanwhile.
  const env = { ...process.env };
  const place = warm.warmPlace(env, process.cwd(), process.argv[1]!);
  if (!place) return here();
  const handed = await warm.handToWarm(place, argv);
  if (handed.done) {
    // Stopped by Ctrl-C: end as that signal ends a process, for the shell and scripts to see.
    if ("signal" in handed) process.kill(process.pid, handed.signal);
    return handed.code;
  }
  const exitCode = await here();
  // Started after a failed build too: the next one (after the fix) is what it is for.
  if (handed.reason === "none" && (await warm.startWarm(place, process.argv[1]!, env)) && choice.byDefault && !quietIn(argv)) {
    // Said whenever the default starts one (as Gradle says it starts its daemon): a process left behind is nothing to find by surprise.
    process.stderr.write(`flowpack: starting a warm process for the next package from this folder (ends when idle; \`flowpack warm stop\` ends it now, ${WARM_VARIABLE}=0 turns this off)\n`);
  }
  return exitCode;
}
