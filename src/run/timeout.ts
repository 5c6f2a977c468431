import { RunTimeoutError, UsageError } from "../errors.js";
import { formatDuration } from "../_internal/units.js";

/** The abort reason a run's signal carries when its --timeout ran out (not a stop signal: no 130/143). */
const TIMEOUT_REASON = "timeout";

/**
 * Runs `run` with a signal that aborts when `signal` does or when `timeoutMs` has passed, whichever
 * comes first. Every target already stops and removes what it started when its signal aborts (a
 * container is stopped, a swarm service removed, a flow in this process gets its grace period);
 * once it has, a timeout is reported as RunTimeoutError (exit 3), also when the run managed to
 * finish within its grace period: the deadline was missed.
 */
export async function withRunTimeout<T>(timeoutMs: number | undefined, signal: AbortSignal | undefined, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (timeoutMs === undefined) return run(signal);
  assertTimeoutMs(timeoutMs);
  const controller = new AbortController();
  const forward = () => controller.abort(signal?.reason);
  if (signal?.aborted) forward();
  signal?.addEventListener("abort", forward, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    // A stop (Ctrl-C) that came first stays a stop (130/143), even when the run's cleanup outlasts the deadline.
    if (controller.signal.aborted) return;
    timedOut = true;
    controller.abort(TIMEOUT_REASON);
  }, timeoutMs);
  const timeout = () =>
    new RunTimeoutError(`timed out after ${formatDuration(timeoutMs)}; the run was stopped and what it started removed`, {
      hint: "raise --timeout, or make the flow faster",
    });
  try {
    const result = await run(controller.signal);
    if (timedOut) throw timeout();
    return result;
  } catch (error) {
    if (timedOut) {
      // where the run was (a swarm task's node), for a batch's result line
      const node = (error as { node?: unknown } | null)?.node;
      const late = timeout();
      if (typeof node === "string") Object.defineProperty(late, "node", { value: node, enumerable: false });
      throw late;
    }
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forward);
  }
}

/** Refuses a timeout that is not a whole number of milliseconds above 0 (UsageError, exit 2). */
export function assertTimeoutMs(timeoutMs: number): void {
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`timeoutMs ${timeoutMs}: expected a whole number of milliseconds above 0`);
}
