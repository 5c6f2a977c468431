/**
 * The step deadline against registries that go silent: one that accepts connections and never
 * answers, one that sends headers and stalls the body, and uploads that are slow but moving (never
 * cut) or that stop moving (cut). Wall-time bounds are generous on purpose: they catch "waits for
 * minutes", not jitter.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/registry/client.js";
import { RegistryTimeoutError } from "../../../src/registry/errors.js";
import { anonymousKeychain } from "../../../src/registry/keychain.js";
import { flowpack } from "../../helpers/cli.js";
import { example } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { startSilentServer, startUnacceptingPort, type SilentServer } from "../../helpers/silent-server.js";
import { blobOf, fastRetry, randomBlob, tempDir, uniqueRepo } from "./_fixtures.js";

let mute: SilentServer;
let stalled: SilentServer;
beforeAll(async () => {
  [mute, stalled] = await Promise.all([startSilentServer("mute"), startSilentServer("stalled")]);
});
afterAll(async () => {
  await Promise.all([mute.close(), stalled.close()]);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("flowpack package against a registry that goes silent", () => {
  const packageTo = async (args: string[]) => {
    const out = tempDir("deadline");
    try {
      const started = Date.now();
      const result = await flowpack(
        ["package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "oci", "-o", join(out.path, "m.json"), ...args],
        { env: { FLOWPACK_REGISTRY_TIMEOUT: "2" }, timeoutMs: 90_000 },
      );
      return { ...result, elapsed: Date.now() - started };
    } finally {
      out.remove();
    }
  };

  it("a push to a registry that never answers fails at the deadline: exit 3, host and deadline named", async () => {
    const r = await packageTo(["--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`, "--registry", `http://${mute.host}/team`]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`registry ${mute.host} did not respond in time`);
    expect(r.stderr).toMatch(/made no progress for 2 s \(the step deadline\)/);
    expect(r.stderr).toContain("FLOWPACK_REGISTRY_TIMEOUT");
    expect(mute.connections()).toBeGreaterThan(0);
    expect(r.elapsed).toBeLessThan(20_000); // 183 s before the deadline existed
  });

  it("a base image whose registry sends headers and stalls the body fails at the deadline too", async () => {
    const out = tempDir("deadline-layout");
    try {
      const r = await packageTo(["--base-image", `${stalled.host}/library/node:20`, "--oci-layout", out.path]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`registry ${stalled.host} did not respond in time: GET manifest library/node:20 made no progress for 2 s`);
      expect(r.elapsed).toBeLessThan(20_000);
    } finally {
      out.remove();
    }
  });

  it("a bad FLOWPACK_REGISTRY_TIMEOUT is bad input (exit 2) that names the variable", async () => {
    const before = mute.connections();
    const r = await flowpack(["package", example("hello", "flow.ts"), "--packager", "docker", "--registry", `http://${mute.host}/team`], {
      env: { FLOWPACK_REGISTRY_TIMEOUT: "soon" },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('FLOWPACK_REGISTRY_TIMEOUT="soon"');
    expect(mute.connections()).toBe(before); // refused before any connection
  });
});

describe("the registry client's step deadline", () => {
  const client = (host: string, stepTimeoutMs: number) =>
    new RegistryClient({ host, keychain: anonymousKeychain, retry: { ...fastRetry, stepTimeoutMs } });

  it("ends a push to a mute registry with RegistryTimeoutError (REGISTRY_TIMEOUT, exit 3)", async () => {
    const started = Date.now();
    const error = await client(mute.host, 1_000).pushBlob("app", randomBlob(10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryTimeoutError);
    expect((error as RegistryTimeoutError).code).toBe("REGISTRY_TIMEOUT");
    expect((error as RegistryTimeoutError).exitCode).toBe(3);
    expect((error as RegistryTimeoutError).timeoutMs).toBe(1_000);
    expect((error as Error).message).toBe(`registry ${mute.host} did not respond in time: HEAD blob (app) made no progress for 1 s (the step deadline)`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("ends a step whose connection never completes at the deadline, not undici's 10 s connect timeout", async (ctx) => {
    const port = await startUnacceptingPort();
    if (!port) return ctx.skip(); // python3 missing, or this kernel accepts anyway
    try {
      const started = Date.now();
      const error = await client(port.host, 1_000).blobExists("app", randomBlob(1).digest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryTimeoutError);
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      port.close();
    }
  });

  it("never cuts an upload that keeps moving, however long it takes in all", async () => {
    const bytes = randomBytes(12 * 64 * 1024);
    const blob = {
      ...blobOf(bytes),
      body: async function* () {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
          await sleep(250); // 3 s in all against a 1 s deadline; never 1 s without a byte
          yield bytes.subarray(offset, offset + 64 * 1024);
        }
      },
    };
    const repo = uniqueRepo("deadline-slow");
    const c = client(services().FLOWPACK_TEST_REGISTRY, 1_000);
    const result = await c.pushBlob(repo, blob);
    expect(result.status).toBe("uploaded");
    expect(await c.blobExists(repo, blob.digest)).toBe(bytes.length);
  });

  it("cuts an upload that stops moving for longer than the deadline", async () => {
    const bytes = randomBytes(4 * 64 * 1024);
    const blob = {
      ...blobOf(bytes),
      body: async function* () {
        yield bytes.subarray(0, 64 * 1024);
        await sleep(3_000);
        yield bytes.subarray(64 * 1024);
      },
    };
    const repo = uniqueRepo("deadline-stall");
    const c = client(services().FLOWPACK_TEST_REGISTRY, 1_000);
    const error = await c.pushBlob(repo, blob).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryTimeoutError);
    expect((error as RegistryTimeoutError).step).toBe(`upload of blob ${blob.digest} to ${repo}`);
    expect(await c.blobExists(repo, blob.digest)).toBeUndefined();
  });
});
