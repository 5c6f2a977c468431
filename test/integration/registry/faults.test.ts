/**
 * Fault injection at every step of a push (HEAD blob, POST upload, PUT blob, PUT manifest), through
 * test/helpers/fault-proxy.ts in front of the real registry. Each fault either is retried away or
 * fails the push with a clear error; a rerun completes; and, checked on the registry directly, the
 * tag never points at a manifest with missing blobs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/registry/client.js";
import { RegistryError, RegistryUnreachableError } from "../../../src/registry/errors.js";
import { anonymousKeychain } from "../../../src/registry/keychain.js";
import type { RegistryProgressEvent as ProgressEvent } from "../../../src/registry/progress.js";
import { join } from "node:path";
import { flowpack } from "../../helpers/cli.js";
import { skopeoInspect } from "../../helpers/docker.js";
import { startFaultProxy, type Fault, type FaultProxy } from "../../helpers/fault-proxy.js";
import { example } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { fastRetry, randomImage, tempDir, uniqueRepo, type TestImage } from "./_fixtures.js";

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

/**
 * A registry can refuse a manifest for a blob it has (its own race while a concurrent push links
 * the same blob into the repository). The push re-checks the manifest's blobs, uploads what is
 * missing and PUTs once more; a second refusal fails.
 */
describe("MANIFEST_BLOB_UNKNOWN at the manifest PUT", () => {
  const blobUnknown = (digest: string): Fault => ({
    kind: "status",
    status: 400,
    body: JSON.stringify({ errors: [{ code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown to registry", detail: digest }] }),
  });
  const manifestPut = { method: "PUT", path: /\/manifests\// };
  /** The requests after the first manifest PUT, as "METHOD path" (digests kept, upload ids cut). */
  const afterFirstPut = () => {
    const first = proxy.requests.findIndex((r) => r.method === "PUT" && r.path.includes("/manifests/"));
    return proxy.requests.slice(first + 1).map((r) => `${r.method} ${r.path.replace(/\/uploads\/.+$/, "/uploads/…")}${r.fault ? ` (${r.fault})` : ""}`);
  };

  it("once: the blobs are checked again and the manifest PUT again; the image is complete", async () => {
    const repo = uniqueRepo("blob-race");
    const image = randomImage([16 * 1024]);
    proxy.reset();
    proxy.inject({ ...manifestPut, fault: blobUnknown(image.layers[0]!.digest) });
    const result = await push(viaProxy(), repo, image);
    expect(result.digest).toBe(image.digest);
    expect(proxy.requests.filter((r) => r.fault).map((r) => `${r.method} ${r.fault}`)).toEqual(["PUT status"]);
    expect(afterFirstPut()).toEqual([
      `HEAD /v2/${repo}/blobs/${image.config.digest}`,
      `HEAD /v2/${repo}/blobs/${image.layers[0]!.digest}`,
      `PUT /v2/${repo}/manifests/v1`,
    ]);
    await expectConsistent(repo, image, true);
    expect((await skopeoInspect(`${registry}/${repo}:v1`)).Digest).toBe(image.digest);
  });

  it("once, with a blob really gone: it is uploaded again before the second PUT", async () => {
    const repo = uniqueRepo("blob-race-gone");
    const image = randomImage([16 * 1024]);
    const layer = image.layers[0]!.digest;
    proxy.reset();
    proxy.inject({ ...manifestPut, fault: blobUnknown(layer) });
    // The layer's 1st HEAD (before its upload) passes; the re-check and pushBlob's own HEAD say 404.
    proxy.inject({ method: "HEAD", path: new RegExp(`/blobs/${layer}$`), nth: 2, times: 2, fault: { kind: "status", status: 404, body: "" } });
    const result = await push(viaProxy(), repo, image);
    expect(result.digest).toBe(image.digest);
    expect(afterFirstPut()).toEqual([
      `HEAD /v2/${repo}/blobs/${image.config.digest}`,
      `HEAD /v2/${repo}/blobs/${layer} (status)`,
      `HEAD /v2/${repo}/blobs/${layer} (status)`,
      `POST /v2/${repo}/blobs/uploads/`,
      `PUT /v2/${repo}/blobs/uploads/…`,
      `PUT /v2/${repo}/manifests/v1`,
    ]);
    expect(result.bytesSent).toBe(2 * image.layers[0]!.size + image.config.size);
    await expectConsistent(repo, image, true);
  });

  it("twice: flowpack package fails with exit 3 and says it re-checked and retried", async () => {
    const out = tempDir("blob-race-cli");
    try {
      proxy.reset();
      proxy.inject({ ...manifestPut, times: 2, fault: blobUnknown("sha256:0") });
      const r = await flowpack(
        [
          "package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "oci",
          "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`,
          "--registry", `http://${proxy.host}/flowpack-test/blob-race-${Date.now()}`, "-o", join(out.path, "m.json"),
        ],
        { timeoutMs: 90_000 },
      );
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`registry ${proxy.host}: PUT /v2/\\S+/manifests/\\S+ answered 400 Bad Request: MANIFEST_BLOB_UNKNOWN`));
      expect(r.stderr).toMatch(/\(again after re-checking the manifest's \d+ blobs\)/);
      expect(proxy.requests.filter((q) => q.method === "PUT" && q.path.includes("/manifests/")).length).toBe(2);
    } finally {
      out.remove();
    }
  });
});
