import { describe, expect, it } from "vitest";
import {
  RetrySignal,
  backoffDelay,
  defaultRetryPolicy,
  parseRetryAfter,
  retryPolicy,
  retrying,
} from "../../../src/registry/retry.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads delta-seconds", () => {
    expect(parseRetryAfter("1", now)).toBe(1000);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
    expect(parseRetryAfter(["3", "9"], now)).toBe(3000);
  });

  it("reads an HTTP-date relative to now; a past date means now", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  });

  it("ignores what is neither", () => {
    for (const value of [undefined, "", "soon", "1.5", "-3", "Thu, 99 Foo"]) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});

describe("backoffDelay", () => {
  const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 });

  it("doubles per attempt and stops at maxDelayMs", () => {
    const exact = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(exact, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("stays within [(1 - jitter)·d, d]", () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const d = Math.min(1000, 100 * 2 ** (attempt - 1));
      expect(backoffDelay(policy, attempt, () => 0)).toBe(d);
      expect(backoffDelay(policy, attempt, () => 0.999999)).toBeGreaterThanOrEqual(Math.floor(d / 2));
      for (let i = 0; i < 20; i++) {
        const value = backoffDelay(policy, attempt);
        expect(value).toBeGreaterThanOrEqual(Math.floor(d / 2));
        expect(value).toBeLessThanOrEqual(d);
      }
    }
  });
});

describe("retryPolicy", () => {
  it("defaults retry 408/429/5xx on idempotent methods, not refused connections", () => {
    expect(defaultRetryPolicy.statusCodes).toEqual([408, 429, 500, 502, 503, 504]);
    expect(defaultRetryPolicy.methods).not.toContain("POST");
    expect(defaultRetryPolicy.errorCodes).toContain("ECONNRESET");
    expect(defaultRetryPolicy.errorCodes).not.toContain("ECONNREFUSED");
    expect(defaultRetryPolicy.errorCodes).not.toContain("ENOTFOUND");
  });

  it("rejects nonsense values by name", () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => retryPolicy({ jitter: 2 })).toThrow(/jitter/);
    expect(() => retryPolicy({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
  });
});

describe("retrying", () => {
  const fake = () => {
    let clock = 0;
    const sleeps: number[] = [];
    return {
      sleeps,
      options: {
        now: () => clock,
        sleep: (ms: number) => {
          sleeps.push(ms);
          clock += ms;
          return Promise.resolve();
        },
        random: () => 0,
      },
    };
  };
  const policy = retryPolicy({ maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 1000, jitter: 0, maxElapsedMs: 10_000 });

  it("retries until the step succeeds, with backoff", async () => {
    const f = fake();
    let calls = 0;
    const result = await retrying(
      policy,
      async () => {
        calls++;
        if (calls < 3) throw new RetrySignal(new Error("flaky"));
        return "ok";
      },
      f.options,
    );
    expect(result).toBe("ok");
    expect(f.sleeps).toEqual([10, 20]);
  });

  it("gives up after maxAttempts and says so", async () => {
    const f = fake();
    await expect(retrying(policy, () => Promise.reject(new RetrySignal(new Error("503"))), f.options)).rejects.toThrow(
      "503 (after 4 attempts)",
    );
    expect(f.sleeps).toEqual([10, 20, 40]);
  });

  it("honours Retry-After instead of the backoff", async () => {
    const f = fake();
    let calls = 0;
    await retrying(
      policy,
      async () => {
        if (calls++ === 0) throw new RetrySignal(new Error("429"), 1000);
      },
      f.options,
    );
    expect(f.sleeps).toEqual([1000]);
  });

  it("stops when Retry-After exceeds maxRetryAfterMs", async () => {
    const f = fake();
    const p = retryPolicy({ ...policy, maxRetryAfterMs: 500 });
    await expect(retrying(p, () => Promise.reject(new RetrySignal(new Error("429"), 5000)), f.options)).rejects.toThrow(
      /retry after 5s/,
    );
    expect(f.sleeps).toEqual([]);
  });

  it("stays within the total time budget", async () => {
    const f = fake();
    const p = retryPolicy({ maxAttempts: 100, baseDelayMs: 100, maxDelayMs: 100, jitter: 0, maxElapsedMs: 350 });
    await expect(retrying(p, () => Promise.reject(new RetrySignal(new Error("down"))), f.options)).rejects.toThrow(
      /down \(after 4 attempts\)/,
    );
    expect(f.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(350);
  });

  it("does not retry other errors", async () => {
    const f = fake();
    let calls = 0;
    await expect(
      retrying(
        policy,
        () => {
          calls++;
          return Promise.reject(new Error("bad request"));
        },
        f.options,
      ),
    ).rejects.toThrow("bad request");
    expect(calls).toBe(1);
  });

  it("stops waiting when aborted", async () => {
    const controller = new AbortController();
    // A step deadline longer than the wait, or the wait would not start at all.
    const p = retryPolicy({ maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0, stepTimeoutMs: 120_000 });
    const run = retrying(p, () => Promise.reject(new RetrySignal(new Error("down"))), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("cancelled")), 20);
    await expect(run).rejects.toThrow("cancelled");
  });
});
