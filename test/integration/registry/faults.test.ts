/**
 * Fault injection at every step of a push (HEAD blob, POST upload, PUT blob, PUT manifest), through
 * test/helpers/fault-proxy.ts in front of the real registry. Each fault either is retried away or
 * fails the push with a clear error; a rerun completes; and, checked on the registry directly, the
 * tag never points at a manifest with missing blobs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  RegistryClient,
  RegistryError,
  RegistryUnreachableError,
  anonymousKeychain,
  type ProgressEvent,
} from "../../../src/registry/index.js";
import { startFaultProxy, type Fault, type FaultProxy } from "../../helpers/fault-proxy.js";
import { services } from "../../helpers/services.js";
import { fastRetry, randomImage, uniqueRepo, type TestImage } from "./_fixtures.js";

const registry = services().FLOWPACK_TEST_REGISTRY;
const direct = new RegistryClient({ host: registry, keychain: anonymousKeychain, retry: fastRetry });

const steps: Record<string, { method: string; path: RegExp }> = {
  "HEAD blob": { method: "HEAD", path: /\/blobs\/sha256:/ },
  "POST upload": { method: "POST", path: /\/blobs\/uploads\/(\?.*)?$/ },
  "PUT blob": { method: "PUT", path: /\/blobs\/uploads\/[^?]+/ },
  "PUT manifest": { method: "PUT", path: /\/manifests\// },
};

const faults: Record<string, Fault> = {
  "500": { kind: "status", status: 500 },
  "503": { kind: "status", status: 503 },
  "429 with Retry-After: 1": { kind: "status", status: 429, headers: { "retry-after": "1" } },
  "connection reset": { kind: "reset" },
  "connection reset after the registry acted": { kind: "reset-after-upstream" },
};

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await proxy.close();
});

function viaProxy(events: ProgressEvent[] = []): RegistryClient {
  return new RegistryClient({
    host: proxy.host,
    keychain: anonymousKeychain,
    retry: fastRetry,
    timeouts: { headersMs: 10_000, bodyMs: 10_000 },
    onProgress: (e) => events.push(e),
  });
}

function push(client: RegistryClient, repo: string, image: TestImage) {
  return client.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
}

/** On the registry itself: if the tag exists, it is this image, and every blob it references is there. */
async function expectConsistent(repo: string, image: TestImage, mustExist: boolean): Promise<void> {
  const head = await direct.headManifest(repo, "v1");
  if (!head) {
    expect(mustExist, `tag ${repo}:v1 is missing`).toBe(false);
    return;
  }
  expect(head.digest).toBe(image.digest);
  const manifest = JSON.parse(Buffer.from((await direct.getManifest(repo, "v1")).bytes).toString("utf8")) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  for (const blob of [manifest.config, ...manifest.layers]) {
    expect(await direct.blobExists(repo, blob.digest), `blob ${blob.digest}`).toBe(blob.size);
  }
}

describe.each(Object.entries(steps))("a fault at %s", (step, match) => {
  it.each(Object.entries(faults))("once (%s): the push retries and succeeds", async (_name, fault) => {
    const repo = uniqueRepo("fault");
    const image = randomImage([32 * 1024]);
    proxy.reset();
    proxy.inject({ method: match.method, path: match.path, fault });
    const events: ProgressEvent[] = [];
    const result = await push(viaProxy(events), repo, image);
    expect(result.digest).toBe(image.digest);
    expect(proxy.requests.filter((r) => r.fault).map((r) => `${r.method} ${r.fault}`)).toEqual([
      `${match.method} ${fault.kind}`,
    ]);
    expect(events.some((e) => e.type === "retry")).toBe(true);
    await expectConsistent(repo, image, true);
  });

  it.each([
    ["503", { kind: "status", status: 503 } as Fault],
    ["connection reset", { kind: "reset" } as Fault],
  ])("every time (%s): the push fails clearly, nothing dangles, and a rerun completes", async (_name, fault) => {
    const repo = uniqueRepo("fault-hard");
    const image = randomImage([16 * 1024]);
    proxy.reset();
    proxy.inject({ method: match.method, path: match.path, times: Infinity, fault });
    const error = await push(viaProxy(), repo, image).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    const message = (error as Error).message;
    if (fault.kind === "reset") {
      expect(error).toBeInstanceOf(RegistryUnreachableError);
      expect(message).toMatch(new RegExp(`registry ${proxy.host}: the connection was (closed|reset)`));
    } else {
      expect((error as RegistryError).status).toBe(503);
      // HEAD responses have no body; the others carry the spec's error code.
      expect(message).toMatch(
        step === "HEAD blob" ? /answered 503 Service Unavailable/ : /answered 503 Service Unavailable: UNAVAILABLE: injected fault/,
      );
    }
    expect(message).toMatch(/after \d+ attempts/);
    expect(message).not.toMatch(/_state|\?/);
    await expectConsistent(repo, image, false);

    proxy.reset();
    const rerun = await push(viaProxy(), repo, image);
    expect(rerun.digest).toBe(image.digest);
    await expectConsistent(repo, image, true);
  });
});
