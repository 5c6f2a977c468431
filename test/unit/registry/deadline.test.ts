import { describe, expect, it } from "vitest";
import { ConfigError, PackagerOptionsError } from "../../../src/errors.js";
import { resolveDockerOptions } from "../../../src/packagers/docker/options.js";
import { currentStep, withStep } from "../../../src/registry/deadline.js";
import { RegistryClient } from "../../../src/registry/client.js";
import { RegistryTimeoutError } from "../../../src/registry/errors.js";
import { anonymousKeychain } from "../../../src/registry/keychain.js";
import { defaultRetryPolicy, retryPolicy } from "../../../src/registry/retry.js";
import { RetrySignal, retrying } from "../../../src/registry/retry.js";

const info = { target: "registry example.test", step: "HEAD blob" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the step deadline by default", () => {
  it("is at most 30 s, in the default policy and in a client built without options", () => {
    expect(defaultRetryPolicy.stepTimeoutMs).toBeLessThanOrEqual(30_000);
    const client = new RegistryClient({ host: "127.0.0.1:1", keychain: anonymousKeychain });
    expect(client.policy.stepTimeoutMs).toBeLessThanOrEqual(30_000);
    expect(resolveDockerOptions({ env: {} }).registryTimeoutMs).toBeUndefined(); // → the client's default
  });

  it("is configurable on the client and rejected when not > 0", () => {
    expect(new RegistryClient({ host: "127.0.0.1:1", keychain: anonymousKeychain, retry: { stepTimeoutMs: 2_000 } }).policy.stepTimeoutMs).toBe(2_000);
    expect(() => retryPolicy({ stepTimeoutMs: 0 })).toThrow(/stepTimeoutMs must be a number > 0/);
    expect(() => retryPolicy({ stepTimeoutMs: Number.NaN })).toThrow(/stepTimeoutMs/);
  });
});

describe("FLOWPACK_REGISTRY_TIMEOUT and registryTimeout", () => {
  it("take seconds; the option wins over the variable", () => {
    expect(resolveDockerOptions({ env: { FLOWPACK_REGISTRY_TIMEOUT: "2.5" } }).registryTimeoutMs).toBe(2_500);
    expect(resolveDockerOptions({ env: { FLOWPACK_REGISTRY_TIMEOUT: " 90 " } }).registryTimeoutMs).toBe(90_000);
    expect(resolveDockerOptions({ registryTimeout: 7, env: { FLOWPACK_REGISTRY_TIMEOUT: "90" } }).registryTimeoutMs).toBe(7_000);
  });

  it.each(["abc", "0", "-5", "1e3", "30s", "7200"])("refuse FLOWPACK_REGISTRY_TIMEOUT=%s with a ConfigError naming it", (value) => {
    const error = (() => {
      try {
        resolveDockerOptions({ env: { FLOWPACK_REGISTRY_TIMEOUT: value } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`FLOWPACK_REGISTRY_TIMEOUT="${value}"`);
    expect((error as ConfigError).exitCode).toBe(2);
  });

  it("refuse a registryTimeout option that is not a positive number of seconds", () => {
    expect(() => resolveDockerOptions({ registryTimeout: 0 })).toThrow(PackagerOptionsError);
    expect(() => resolveDockerOptions({ registryTimeout: -1 })).toThrow(/registryTimeout/);
  });
});

describe("withStep", () => {
  it("fails a silent step at its deadline with RegistryTimeoutError naming target, step and deadline", async () => {
    const started = Date.now();
    const error = await withStep(200, info, (clock) => new Promise((_, reject) => clock.signal.addEventListener("abort", () => reject(new Error("aborted"))))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryTimeoutError);
    const timeout = error as RegistryTimeoutError;
    expect(timeout.code).toBe("REGISTRY_TIMEOUT");
    expect(timeout.exitCode).toBe(3);
    expect(timeout.step).toBe("HEAD blob");
    expect(timeout.timeoutMs).toBe(200);
    expect(timeout.message).toBe("registry example.test did not respond in time: HEAD blob made no progress for 0.2 s (the step deadline)");
    expect(timeout.hint).toMatch(/FLOWPACK_REGISTRY_TIMEOUT/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("does not cut a step that keeps making progress", async () => {
    const result = await withStep(200, info, async (clock) => {
      for (let i = 0; i < 8; i++) {
        await sleep(80); // 640 ms in all, more than three deadlines, never 200 ms of silence
        clock.touch();
      }
      return clock.signal.aborted ? "aborted" : "done";
    });
    expect(result).toBe("done");
  });

  it("lets inner steps join the outer one, so the outermost owns the budget", async () => {
    await withStep(10_000, info, async (outer) => {
      await withStep(1, { target: "x", step: "inner" }, async (inner) => {
        expect(inner).toBe(outer);
        expect(currentStep()).toBe(outer);
        await sleep(20);
      });
    });
    expect(currentStep()).toBeUndefined();
  });
});

describe("retrying under a deadline", () => {
  it("does not start an attempt whose wait would pass the deadline", async () => {
    const policy = retryPolicy({ maxAttempts: 10, baseDelayMs: 400, maxDelayMs: 400, jitter: 0, stepTimeoutMs: 1_000 });
    let calls = 0;
    const started = Date.now();
    const error = await retrying(
      policy,
      () => {
        calls++;
        return Promise.reject(new RetrySignal(new Error("503")));
      },
      { step: info },
    ).catch((e: unknown) => e as Error);
    expect(calls).toBe(3); // 0 ms, 400 ms, 800 ms; a 4th would start at 1 200 ms
    expect(error.message).toMatch(/^503 \(after 3 attempts; no time left for another attempt within the 1 s step deadline\)$/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
