/**
 * Retries as data, and the one place that decides whether a failure is worth another attempt and
 * after how long. A RetryPolicy says which methods and statuses are transient, which network
 * errors are, how long to wait (exponential backoff with jitter, or the server's Retry-After), and
 * how much time all attempts of one step may take together. `isTransient` and `isRetryableStatus`
 * apply it; `retrying()` runs a step under it: a step asks for another attempt by throwing a
 * RetrySignal, anything else it throws ends the step at once. The loop that every request goes
 * through is transport.ts's `exchange()`.
 *
 * Connection refused (ECONNREFUSED) and unknown hosts (ENOTFOUND) are deliberately NOT transient:
 * nothing listens at that address, which is almost always a wrong host/port or a stopped registry.
 * The answer is immediate and the same on every attempt, so retrying would only delay a clear error
 * by the whole backoff budget; a registry that is restarting takes longer than that budget anyway.
 * A caller who wants otherwise adds the code to `errorCodes` (it is data). Resets and timeouts of a
 * connection that was established ARE transient.
 */
import { ConfigError } from "../errors.js";
import { withStep, type StepInfo } from "./deadline.js";
import { DigestMismatchError, RegistryUnreachableError, withNote } from "./errors.js";
import type { HttpResponse } from "./http.js";

export interface RetryPolicy {
  /** Methods retried on their own (idempotent). Individual steps opt in or out (see transport.ts). */
  readonly methods: readonly string[];
  /** Response statuses that are worth another attempt. */
  readonly statusCodes: readonly number[];
  /** Network error codes (Node.js / undici) that are worth another attempt. */
  readonly errorCodes: readonly string[];
  /** Attempts in total, the first one included (1 = no retries). */
  readonly maxAttempts: number;
  /** Delay before the 2nd attempt; doubles for each later one. */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff delay. */
  readonly maxDelayMs: number;
  /** 0 = exact delays; 1 = "full jitter". A delay d becomes a random value in [(1 - jitter)·d, d]. */
  readonly jitter: number;
  /** The longest Retry-After honoured; asked to wait longer, we stop and report the error instead. */
  readonly maxRetryAfterMs: number;
  /**
   * Time budget of one step: all its attempts plus the waits between them, counted from the start
   * of the step (deadline.ts), so requests retried inside a step share the step's budget.
   */
  readonly maxElapsedMs: number;
  /**
   * Deadline of one step, as silence: the step fails with RegistryTimeoutError once this long
   * passes without body bytes moving (see deadline.ts). Bounds a registry that answers nothing;
   * never cuts a transfer that makes progress.
   */
  readonly stepTimeoutMs: number;
}

/** The default step deadline: a registry that answers nothing fails a command within 30 s. */
const DEFAULT_STEP_TIMEOUT_MS = 30_000;

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  methods: Object.freeze(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]),
  statusCodes: Object.freeze([408, 429, 500, 502, 503, 504]),
  errorCodes: Object.freeze([
    "ECONNRESET",
    "EPIPE",
    "ETIMEDOUT",
    "EAI_AGAIN",
    "UND_ERR_SOCKET",
    "UND_ERR_CLOSED",
    "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_HEADERS_TIMEOUT",
    "UND_ERR_BODY_TIMEOUT",
  ]),
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
  maxElapsedMs: 180_000,
  stepTimeoutMs: DEFAULT_STEP_TIMEOUT_MS,
});

/** The default policy with some fields replaced; validated, so a typo fails loudly. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...overrides };
  const check = (field: keyof RetryPolicy, ok: boolean, expected: string): void => {
    if (!ok) throw new ConfigError(`invalid retry policy: ${field} must be ${expected}`);
  };
  check("maxAttempts", Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1, "an integer ≥ 1");
  for (const field of ["baseDelayMs", "maxDelayMs", "maxRetryAfterMs", "maxElapsedMs"] as const) {
    check(field, Number.isFinite(policy[field]) && policy[field] >= 0, "a number ≥ 0");
  }
  check("stepTimeoutMs", Number.isFinite(policy.stepTimeoutMs) && policy.stepTimeoutMs > 0, "a number > 0");
  check("jitter", policy.jitter >= 0 && policy.jitter <= 1, "between 0 and 1");
  return Object.freeze({
    ...policy,
    methods: Object.freeze(policy.methods.map((m) => m.toUpperCase())),
    statusCodes: Object.freeze([...policy.statusCodes]),
    errorCodes: Object.freeze([...policy.errorCodes]),
  });
}

/**
 * Retry-After as milliseconds from `now`: delta-seconds ("120") or an HTTP-date. A date in the past
 * gives 0. Anything unparseable gives undefined (the caller falls back to its backoff).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined; // "1.5", "-3": not a valid delta-seconds nor a date
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The wait before attempt `attempt + 1`, attempt being 1-based. `random` returns [0, 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const factor = 1 - policy.jitter * random();
  return Math.round(capped * factor);
}

/** Errors that ended a retry loop: their attempts are spent. */
const spent = new WeakSet<Error>();

/** The error a retry loop ends with: `error`, noted with what the loop did (never changed itself). */
function ended(error: Error, notes: string[]): Error {
  const final = notes.length > 0 ? withNote(error, notes.join("; ")) : error;
  spent.add(final);
  return final;
}

/**
 * Whether a failure is worth another attempt under `policy`: a network failure whose code the
 * policy lists, or a body cut short of its Content-Length (the connection's fault too). Never an
 * error that already came out of a retry loop (see `retrying`): its attempts are spent.
 */
export function isTransient(policy: RetryPolicy, error: unknown): boolean {
  if (!(error instanceof Error) || spent.has(error)) return false;
  if (error instanceof RegistryUnreachableError) return error.errno !== undefined && policy.errorCodes.includes(error.errno);
  return error instanceof DigestMismatchError && error.truncated;
}

/** Whether a response status is worth another attempt under `policy`. */
export function isRetryableStatus(policy: RetryPolicy, status: number): boolean {
  return policy.statusCodes.includes(status);
}

/** Thrown by a step to ask for another attempt; carries the error to report if there is none. */
export class RetrySignal {
  constructor(
    readonly error: Error,
    /** The server's Retry-After, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {}
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: Error;
}

export interface RetryingOptions {
  signal?: AbortSignal | undefined;
  /** What the step is, for its timeout error. */
  step?: StepInfo | undefined;
  onRetry?: ((info: RetryInfo) => void) | undefined;
  /** For tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Runs `step` as a step (deadline.ts) under `policy`: its deadline is `policy.stepTimeoutMs` of
 * silence, or that of the step it runs inside, and so is its time budget (`maxElapsedMs` from the
 * step's start). No attempt starts once the deadline would pass during the wait before it.
 */
export async function retrying<T>(
  policy: RetryPolicy,
  step: (attempt: number) => Promise<T>,
  options: RetryingOptions = {},
): Promise<T> {
  const sleep = options.sleep ?? abortableSleep;
  const info = options.step ?? { target: "the registry", step: "request" };
  return withStep(policy.stepTimeoutMs, info, async (clock) => {
    const signal = options.signal ? AbortSignal.any([options.signal, clock.signal]) : clock.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step(attempt);
      } catch (thrown) {
        if (!(thrown instanceof RetrySignal)) throw thrown;
        const { error, retryAfterMs } = thrown;
        const giveUp = (why?: string): never => {
          throw ended(error, [attempt > 1 ? `after ${attempt} attempts` : "", why ?? ""].filter(Boolean));
        };
        if (attempt >= policy.maxAttempts) giveUp();
        if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
          giveUp(`the registry asked to retry after ${Math.ceil(retryAfterMs / 1000)}s`);
        }
        const delayMs = retryAfterMs ?? backoffDelay(policy, attempt, options.random);
        if (clock.elapsedMs() + delayMs > policy.maxElapsedMs) giveUp();
        if (delayMs >= clock.remainingMs()) giveUp(`no time left for another attempt within the ${clock.timeoutMs / 1000} s step deadline`);
        options.onRetry?.({ attempt, delayMs, error });
        signal.throwIfAborted();
        await sleep(delayMs, signal);
      }
    }
  }, options.now);
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// ── the one request loop ────────────────────────────────────────────────────
// `exchange()` is the retry loop of every HTTP request the client makes (to the registry, to its
// token server, GET /v2/): one step, one time budget, and this file's decision on every failure.

export interface Exchange<T> {
  /** What the step is, for its deadline error. */
  step: StepInfo;
  /** Whether an attempt may be repeated at all. */
  retry: boolean;
  /** Sends the request once. */
  send: () => Promise<HttpResponse>;
  /** The error to report for a response whose status the policy retries, if it stays the last. */
  errorFor: (res: HttpResponse) => Promise<Error>;
  /** Interprets the final response (reads its body …) within the same attempt and step. */
  read: (res: HttpResponse) => Promise<T>;
  signal?: AbortSignal | undefined;
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/**
 * One request as one step: sent, and when `retry` allows, sent again while its attempts fail in a
 * way the policy calls transient (a network failure while sending or reading, a status it lists),
 * after the server's Retry-After or the backoff.
 */
export async function exchange<T>(policy: RetryPolicy, x: Exchange<T>): Promise<T> {
  const failed = async (error: unknown): Promise<unknown> => (x.retry ? ((await retrySignalFor(policy, { error }, x.errorFor)) ?? error) : error);
  const attempt = async (): Promise<T> => {
    let res: HttpResponse;
    try {
      res = await x.send();
    } catch (error) {
      throw await failed(error);
    }
    const signal = x.retry ? await retrySignalFor(policy, { res }, x.errorFor) : undefined;
    if (signal) throw signal;
    try {
      return await x.read(res);
    } catch (error) {
      throw await failed(error);
    }
  };
  if (!x.retry) return withStep(policy.stepTimeoutMs, x.step, attempt);
  return retrying(policy, attempt, { signal: x.signal, step: x.step, onRetry: x.onRetry });
}

/**
 * The policy's verdict on one attempt: a RetrySignal (with the server's Retry-After) when the failure
 * or the response is worth another attempt, undefined when it is final. The one rule for `exchange`
 * and for steps that repeat several requests as a unit (an upload, blobs.ts).
 */
export async function retrySignalFor(
  policy: RetryPolicy,
  outcome: { error: unknown } | { res: HttpResponse },
  errorFor: (res: HttpResponse) => Promise<Error>,
): Promise<RetrySignal | undefined> {
  if ("error" in outcome) return isTransient(policy, outcome.error) ? new RetrySignal(outcome.error as Error) : undefined;
  if (!isRetryableStatus(policy, outcome.res.status)) return undefined;
  return new RetrySignal(await errorFor(outcome.res), parseRetryAfter(outcome.res.headers["retry-after"]));
}
