import { ConfigError, type StopSignal } from "../errors.js";

/**
 * How much longer than the runner's own grace an engine waits after SIGTERM before SIGKILL (a
 * container's stop timeout, a swarm service's stop grace period), so the runner can report first.
 */
export const STOP_MARGIN_MS = 2_000;

/** Seconds a flow gets to finish after SIGINT/SIGTERM, unless FLOWPACK_STOP_GRACE says otherwise. */
const DEFAULT_STOP_GRACE_SECONDS = 10;

/**
 * The grace period from FLOWPACK_STOP_GRACE (seconds, ≥ 0, fractions allowed), in milliseconds: how
 * long a flow may take to stop after its `ctx.signal` aborts, and how long a container gets between
 * SIGTERM and SIGKILL.
 */
export function stopGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FLOWPACK_STOP_GRACE;
  if (raw === undefined || raw.trim() === "") return DEFAULT_STOP_GRACE_SECONDS * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new ConfigError(`FLOWPACK_STOP_GRACE=${JSON.stringify(raw)}: expected seconds between 0 and 3600`, {
      hint: `unset it for the default of ${DEFAULT_STOP_GRACE_SECONDS} s`,
    });
  }
  return Math.round(seconds * 1000);
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
