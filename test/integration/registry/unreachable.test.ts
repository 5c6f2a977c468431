import { describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/registry/client.js";
import { RegistryUnreachableError } from "../../../src/registry/errors.js";
import { anonymousKeychain } from "../../../src/registry/keychain.js";
import { fastRetry, randomBlob } from "./_fixtures.js";

describe("an unreachable registry", () => {
  it("connection refused fails at once with a clear one-line message", async () => {
    const c = new RegistryClient({ host: "127.0.0.1:1", keychain: anonymousKeychain, retry: fastRetry });
    const started = Date.now();
    const error = await c.pushBlob("app", randomBlob(10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnreachableError);
    expect((error as Error).message).toBe("cannot reach registry 127.0.0.1:1: connection refused");
    expect((error as RegistryUnreachableError).hint).toMatch(/registry address/);
    expect((error as RegistryUnreachableError).exitCode).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(c.ping()).rejects.toThrow("cannot reach registry 127.0.0.1:1: connection refused");
  });
});
