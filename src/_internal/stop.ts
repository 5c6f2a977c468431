import { ConfigError, type StopSignal } from "../errors.js";

/**
 * How much longer than the runner's own grace an engine waits after SIGTERM before SIGKILL (a
 * container's stop timeout, a swarm service's stop grace period), so the runner can report first.
 */
export const STOP_MARGIN_MS = 2_000;

/** Seconds a flow gets to finish after SIGINT/SIGTERM, unless FLOWPACK_STOP_GRACE says otherwise. */
const DEFAULT_STOP_GRACE_SECONDS = 10;
/** Seconds a finished command waits for what a flow left running, unless FLOWPACK_EXIT_GRACE says otherwise. */
const DEFAULT_EXIT_GRACE_SECONDS = 2;

/**
 * The grace period from FLOWPACK_STOP_GRACE (seconds, ≥ 0, fractions allowed), in milliseconds: how
 * long a flow may take to stop after its `ctx.signal` aborts, and how long a container gets between
 * SIGTERM and SIGKILL.
 */
export function stopGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  return secondsFromEnv(env, "FLOWPACK_STOP_GRACE", DEFAULT_STOP_GRACE_SECONDS);
}

/**
 * FLOWPACK_EXIT_GRACE (seconds, ≥ 0, fractions allowed; default 2), in milliseconds: how long a
 * process that has finished its command (and written the flow's result) waits for the timers and
 * sockets a flow left behind before it exits anyway (see exitOnceDone).
 */
export function exitGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  return secondsFromEnv(env, "FLOWPACK_EXIT_GRACE", DEFAULT_EXIT_GRACE_SECONDS);
}

function secondsFromEnv(env: NodeJS.ProcessEnv, name: string, defaultSeconds: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return defaultSeconds * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected seconds between 0 and 3600`, {
      hint: `unset it for the default of ${defaultSeconds} s`,
    });
  }
  return Math.round(seconds * 1000);
}

/**
 * Sets the process's exit code now that its work is done, and makes sure it exits. Node.js runs
 * until nothing is left to wait for, and a flow's module or run may leave something behind that
 * never ends: a `setInterval`, a database pool or client that was not closed. The result is out
 * by then, but a scheduler, a container or a swarm job would wait for the process forever. Such a
 * process exits FLOWPACK_EXIT_GRACE seconds (default 2) after this call (with `exitCode`), saying
 * through `warn` what was left running; one with nothing left exits as Node.js would, at once (the
 * timer does not hold it).
 */
export function exitOnceDone(exitCode: number, env: NodeJS.ProcessEnv, warn: (message: string) => void): void {
  process.exitCode = exitCode;
  let graceMs: number;
  try {
    graceMs = exitGraceMs(env);
  } catch (error) {
    // The work is done and its result out: a bad value is not worth failing it for now.
    warn(`${(error as Error).message}; waiting the default ${DEFAULT_EXIT_GRACE_SECONDS} s`);
    graceMs = DEFAULT_EXIT_GRACE_SECONDS * 1000;
  }
  const timer = setTimeout(() => {
    const left = countByKind(process.getActiveResourcesInfo());
    warn(`something is still running ${graceMs / 1000} s after the work was done (${left}), likely left open by the flow's code: exiting (FLOWPACK_EXIT_GRACE sets how long to wait)`);
    process.exit(exitCode);
  }, graceMs);
  timer.unref();
}

/** "2 Timeout, 1 TCPSocketWrap": Node's names of the resources that keep a process running, counted. */
function countByKind(kinds: string[]): string {
  const counts = new Map<string, number>();
  for (const kind of kinds) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count} ${kind}`).join(", ") || "nothing Node.js names";
}

/** The signal an AbortSignal was aborted for, when it was aborted with a signal's name as reason. */
export function stopSignalOf(signal: AbortSignal | undefined): StopSignal | undefined {
  const reason: unknown = signal?.reason;
  return reason === "SIGINT" || reason === "SIGTERM" ? reason : undefined;
}

/**
 * Aborts `controller` (reason: the signal's name) on SIGINT or SIGTERM until the returned function
 * is called. Listeners stay on (not `once`) so that a second signal does not kill the process while
 * it stops cleanly; the grace period bounds that.
 */
export function abortOnStopSignals(controller: AbortController): () => void {
  const onInt = () => controller.abort("SIGINT");
  const onTerm = () => controller.abort("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return () => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  };
}

/**
 * Runs `work` with a signal that SIGINT/SIGTERM abort (reason: the signal's name), listening for
 * them only while it runs (see abortOnStopSignals: a second signal does not cut the stop short).
 */
export async function withStopSignals<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stopListening = abortOnStopSignals(controller);
  try {
    return await work(controller.signal);
  } finally {
    stopListening();
  }
}
