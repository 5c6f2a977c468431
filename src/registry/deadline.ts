/**
 * The deadline of one registry step. A step is one logical operation (resolve a tag, check a blob,
 * upload a blob, put a manifest, fetch a token …): all its attempts, the waits between them and
 * the requests it makes on the way (a token, a HEAD before a retried upload). Steps started inside
 * a running step join it, so the outermost one owns the budget.
 *
 * The deadline is about silence, not total time: the step fails once `stepTimeoutMs` passes
 * without progress, progress being request or response body bytes moving. A registry that answers
 * nothing fails the step `stepTimeoutMs` after it started; a large upload that keeps sending is
 * never cut, and fails only when it stalls for that long (the wait for the answer after the last
 * byte sent counts as silence too). When the deadline passes, the step ends at once with a
 * RegistryTimeoutError: its signal aborts the request in flight (waiting for headers, sending or
 * reading a body) and no further attempt starts. A connection attempt cannot be aborted midway, so
 * clients connect with a timeout no longer than the deadline (http.ts); undici's header and body
 * timeouts are backstops set just past it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { RegistryTimeoutError } from "./errors.js";

export interface StepInfo {
  /** "registry ghcr.io", "token server auth.example.com". */
  target: string;
  /** "HEAD blob", "PUT manifest", "upload blob" … */
  step: string;
}

export class StepClock {
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  readonly #info: StepInfo;
  readonly #now: () => number;
  /** When the step started (its `now()` clock). */
  readonly startedAt: number;
  #last: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number, info: StepInfo, now: () => number = Date.now) {
    this.#timeoutMs = timeoutMs;
    this.#info = info;
    this.#now = now;
    this.startedAt = now();
    this.#last = this.startedAt;
    this.#arm(timeoutMs);
  }

  /** Aborted (with a RegistryTimeoutError) when the deadline passes. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Time since the step started. */
  elapsedMs(): number {
    return this.#now() - this.startedAt;
  }

  /** Time left before the deadline, from the last progress. */
  remainingMs(): number {
    return this.#last + this.#timeoutMs - this.#now();
  }

  /** Bytes moved: the deadline starts again from now. */
  touch(): void {
    this.#last = this.#now();
  }

  /** The step is over: no more timer. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(0, ms));
    this.#timer.unref();
  }

  #check(): void {
    const left = this.remainingMs();
    if (left > 0) {
      this.#arm(left);
      return;
    }
    this.#timer = undefined;
    this.#controller.abort(timeoutError(this.#info, this.#timeoutMs));
  }
}

function timeoutError(info: StepInfo, timeoutMs: number): RegistryTimeoutError {
  const seconds = formatSeconds(timeoutMs);
  return new RegistryTimeoutError(`${info.target} did not respond in time: ${info.step} made no progress for ${seconds} (the step deadline)`, {
    step: info.step,
    timeoutMs,
    hint: `check that the registry is up and answering; to wait longer, set FLOWPACK_REGISTRY_TIMEOUT=<seconds> (library: registryTimeout, or retry.stepTimeoutMs on RegistryClient)`,
  });
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

const current = new AsyncLocalStorage<StepClock>();

/** The step this code runs in, if any. */
export function currentStep(): StepClock | undefined {
  return current.getStore();
}

/**
 * Runs `fn` as a step with a deadline of `timeoutMs` of silence, or inside the step already
 * running (whose deadline then applies). A step that ran out of time always ends with its
 * RegistryTimeoutError, whatever the aborted request turned it into.
 */
export async function withStep<T>(
  timeoutMs: number,
  info: StepInfo,
  fn: (clock: StepClock) => Promise<T>,
  now?: () => number,
): Promise<T> {
  const running = current.getStore();
  if (running) return fn(running);
  const clock = new StepClock(timeoutMs, info, now);
  // Whatever `fn` is waiting for (a connection attempt cannot be aborted midway), the step ends
  // at its deadline; `fn` settles later on its own, unobserved.
  const expired = new Promise<never>((_, reject) => {
    clock.signal.addEventListener("abort", () => reject(clock.signal.reason as Error), { once: true });
  });
  try {
    return await Promise.race([current.run(clock, () => fn(clock)), expired]);
  } catch (error) {
    if (clock.signal.aborted) throw clock.signal.reason as Error;
    throw error;
  } finally {
    clock.stop();
  }
}

/** `signal` and the current step's signal, whichever aborts first. */
export function withStepSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  const step = current.getStore()?.signal;
  if (!step) return signal;
  return signal ? AbortSignal.any([signal, step]) : step;
}
