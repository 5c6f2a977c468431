/** RegistryClient against the real plain registry (FLOWPACK_TEST_REGISTRY): blobs, mounts, manifests. */
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestMismatchError, RegistryError, RegistryResponseError } from "../../../src/registry/errors.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { RegistryClient } from "../../../src/registry/client.js";
import { anonymousKeychain, staticKeychain } from "../../../src/registry/keychain.js";
import type { RegistryProgressEvent as ProgressEvent } from "../../../src/registry/progress.js";
import { startFaultProxy, type FaultProxy } from "../../helpers/fault-proxy.js";
import { services } from "../../helpers/services.js";
import { digestOf, fastRetry, randomBlob, randomImage, uniqueRepo } from "./_fixtures.js";

const registry = services().FLOWPACK_TEST_REGISTRY;

function client(host = registry, onProgress?: (e: ProgressEvent) => void): RegistryClient {
  return new RegistryClient({
    host,
    keychain: anonymousKeychain,
    retry: fastRetry,
    timeouts: { headersMs: 10_000, bodyMs: 10_000 },
    ...(onProgress ? { onProgress } : {}),
  });
}

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await proxy.close();
});

describe("ping", () => {
  it("recognises a registry/2.0 registry without auth", async () => {
    await expect(client().ping()).resolves.toEqual({ apiVersion: "registry/2.0", auth: "none" });
  });
});

describe("blobs", () => {
  it("pushes a blob once; a second push skips it and uploads 0 bytes", async () => {
    const repo = uniqueRepo("push");
    const blob = randomBlob(700 * 1024);
    const events: ProgressEvent[] = [];
    const c = client(registry, (e) => events.push(e));

    const first = await c.pushBlob(repo, blob);
    expect(first).toEqual({ digest: blob.digest, size: blob.size, status: "uploaded", bytesSent: blob.size });
    const progress = events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ bytes: blob.size });
    expect(events.map((e) => e.type).filter((t) => t !== "progress")).toEqual(["start", "done"]);
    expect(await c.blobExists(repo, blob.digest)).toBe(blob.size);

    events.length = 0;
    const second = await c.pushBlob(repo, blob);
    expect(second).toMatchObject({ status: "skipped", bytesSent: 0 });
    expect(events).toEqual([{ type: "skip", repository: repo, digest: blob.digest, size: blob.size }]);
  });

  it("reports a missing blob as undefined", async () => {
    expect(await client().blobExists(uniqueRepo("none"), randomBlob(10).digest)).toBeUndefined();
  });

  it("mounts across repositories instead of uploading", async () => {
    const c = client();
    const source = uniqueRepo("mount-src");
    const target = uniqueRepo("mount-dst");
    const blob = randomBlob(200 * 1024);
    await c.pushBlob(source, blob);
    const result = await c.pushBlob(target, blob, { mountFrom: ["flowpack-test/does-not-exist", source] });
    expect(result).toEqual({ digest: blob.digest, size: blob.size, status: "mounted", bytesSent: 0, mountedFrom: source });
    expect(await c.blobExists(target, blob.digest)).toBe(blob.size);
  });

  it("mountBlob answers false (and cancels the session) when the source lacks the blob; the upload still works", async () => {
    const c = client(proxy.host);
    proxy.reset();
    const repo = uniqueRepo("nomount");
    const blob = randomBlob(1000);
    expect(await c.mountBlob(repo, blob.digest, uniqueRepo("empty"))).toBe(false);
    expect(proxy.requests.map((r) => r.method)).toEqual(["POST", "DELETE"]);
    await c.uploadBlob(repo, blob.digest, blob.size, blob.body);
    expect(await c.blobExists(repo, blob.digest)).toBe(blob.size);
  });

  it("uploads from a fresh stream per attempt and handles a relative Location", async () => {
    const c = client(proxy.host);
    proxy.reset();
    proxy.inject({ method: "POST", path: /\/blobs\/uploads\/$/, fault: { kind: "relative-location" } });
    const repo = uniqueRepo("stream");
    const blob = randomBlob(300 * 1024);
    let calls = 0;
    await c.uploadBlob(repo, blob.digest, blob.size, () => {
      calls++;
      return Readable.from([blob.bytes.subarray(0, 1000), blob.bytes.subarray(1000)]);
    });
    expect(calls).toBe(1);
    expect(proxy.requests.find((r) => r.method === "PUT")?.path).toMatch(/\/blobs\/uploads\/[0-9a-f-]+$/);
    expect(await client().blobExists(repo, blob.digest)).toBe(blob.size);
  });

  it("refuses an upload whose bytes do not match the digest, with the registry's error code", async () => {
    const blob = randomBlob(100);
    const other = randomBlob(100);
    const error = await client()
      .uploadBlob(uniqueRepo("bad"), blob.digest, other.size, other.body)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(400);
    expect((error as RegistryError).registryCodes).toContain("DIGEST_INVALID");
    expect((error as Error).message).not.toContain("_state");
  });

  it("getBlob returns verified bytes; a corrupted body or wrong size is a DigestMismatchError", async () => {
    const repo = uniqueRepo("get");
    const blob = randomBlob(50 * 1024);
    await client().pushBlob(repo, blob);
    expect(Buffer.from(await client().getBlob(repo, blob.digest, { size: blob.size })).equals(Buffer.from(blob.bytes))).toBe(true);
    await expect(client().getBlob(repo, blob.digest, { size: blob.size + 1 })).rejects.toBeInstanceOf(DigestMismatchError);

    proxy.reset();
    proxy.inject({ method: "GET", path: /\/blobs\/sha256:/, fault: { kind: "corrupt" } });
    const error = await client(proxy.host).getBlob(repo, blob.digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as DigestMismatchError).expected).toBe(blob.digest);
  });

  it("getBlobStream verifies at the end", async () => {
    const repo = uniqueRepo("stream-get");
    const blob = randomBlob(400 * 1024);
    await client().pushBlob(repo, blob);
    const chunks: Buffer[] = [];
    for await (const chunk of await client().getBlobStream(repo, blob.digest)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(Buffer.from(blob.bytes))).toBe(true);

    proxy.reset();
    proxy.inject({ method: "GET", path: /\/blobs\/sha256:/, fault: { kind: "corrupt" } });
    const stream = await client(proxy.host).getBlobStream(repo, blob.digest);
    await expect((async () => {
      for await (const _ of stream) void _;
    })()).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it("follows a redirect to another origin, sending credentials only to the registry itself", async () => {
    const repo = uniqueRepo("redirect");
    const blob = randomBlob(2000);
    await client().pushBlob(repo, blob);
    const storage = await startFaultProxy(registry); // stands in for a blob storage host
    try {
      proxy.reset();
      // The "registry" asks for Basic auth once; after that the client sends it on every request.
      proxy.inject({ path: /^\/v2\//, fault: { kind: "status", status: 401, headers: { "www-authenticate": 'Basic realm="t"' } } });
      proxy.inject({ method: "GET", path: /\/blobs\/sha256:/, fault: { kind: "redirect", to: storage.host } });
      const c = new RegistryClient({
        host: proxy.host,
        keychain: staticKeychain({ [proxy.host]: { username: "u", password: "redirect-secret" } }),
        retry: fastRetry,
      });
      const bytes = await c.getBlob(repo, blob.digest);
      expect(bytes.length).toBe(blob.size);
      expect(proxy.requests.map((r) => [r.method, r.fault ?? "", r.authorization])).toEqual([
        ["GET", "status", false],
        ["GET", "redirect", true],
      ]);
      expect(storage.requests).toEqual([{ method: "GET", path: `/v2/${repo}/blobs/${blob.digest}`, authorization: false, bytes: 0 }]);
    } finally {
      await storage.close();
    }
  });

  it("refuses a token realm that is plain http on a non-loopback host", async () => {
    proxy.reset();
    proxy.inject({
      path: /^\/v2\//,
      times: Infinity,
      fault: { kind: "status", status: 401, headers: { "www-authenticate": 'Bearer realm="http://auth.example.com/token",service="x"' } },
    });
    const c = new RegistryClient({
      host: proxy.host,
      keychain: staticKeychain({ [proxy.host]: { username: "u", password: "realm-secret" } }),
      retry: fastRetry,
    });
    const error = await c.blobExists(uniqueRepo("realm"), randomBlob(1).digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryResponseError);
    expect((error as Error).message).toBe(
      `registry ${proxy.host} sent a token realm that is not https (http://auth.example.com/token); refusing to send credentials there`,
    );
  });
});

describe("manifests", () => {
  it("round-trips a manifest by tag and by digest, with digests checked", async () => {
    const c = client();
    const repo = uniqueRepo("manifest");
    const image = randomImage([1024, 2048]);
    const pushed = await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect(pushed.digest).toBe(image.digest);
    expect(pushed.bytesSent).toBe(image.blobs.reduce((s, b) => s + b.size, 0));

    const byTag = await c.getManifest(repo, "v1");
    expect(byTag).toEqual({ bytes: expect.any(Uint8Array), mediaType: MediaType.OCI_MANIFEST, digest: image.digest });
    expect(Buffer.from(byTag.bytes).equals(Buffer.from(image.manifest))).toBe(true);
    const byDigest = await c.getManifest(repo, image.digest);
    expect(byDigest.digest).toBe(image.digest);
    expect(await c.headManifest(repo, "v1")).toEqual({
      mediaType: MediaType.OCI_MANIFEST,
      digest: image.digest,
      size: image.manifest.length,
    });
    expect(await c.headManifest(repo, "nope")).toBeUndefined();
    expect(await c.listTags(repo)).toEqual(["v1"]);

    // A second push of the same image sends no blob bytes.
    const again = await c.pushManifest(repo, "v2", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect(again.bytesSent).toBe(0);
    expect((await c.listTags(repo)).sort()).toEqual(["v1", "v2"]);
  });

  it("putManifest by digest, and refuses bytes that do not match the digest", async () => {
    const c = client();
    const repo = uniqueRepo("bydigest");
    const image = randomImage([100]);
    for (const blob of image.blobs) await c.pushBlob(repo, blob);
    expect(await c.putManifest(repo, image.digest, image.manifest, image.mediaType)).toBe(image.digest);
    await expect(c.putManifest(repo, digestOf(Buffer.from("other")), image.manifest, image.mediaType)).rejects.toThrow(
      /manifest's digest is/,
    );
  });

  it("a manifest whose blobs are missing is refused before anything is tagged", async () => {
    const c = client();
    const repo = uniqueRepo("missing");
    const image = randomImage([100]);
    await expect(
      c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: [image.config] }),
    ).rejects.toThrow(/references blob sha256:[0-9a-f]+, which was not given and is not in the repository/);
    expect(await c.headManifest(repo, "v1")).toBeUndefined();
  });

  it("reports a missing manifest as a 404 RegistryError naming it", async () => {
    const repo = uniqueRepo("nomanifest");
    const error = await client().getManifest(repo, "latest").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(404);
    expect((error as Error).message).toBe(`manifest ${repo}:latest on registry ${registry} was not found`);
  });

  it("detects manifest bytes that do not match the digest asked for, or the Docker-Content-Digest header", async () => {
    const c = client();
    const repo = uniqueRepo("tamper");
    const image = randomImage([10]);
    const other = randomImage([10]);
    await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    const swap = (headers: Record<string, string>) => ({
      kind: "status" as const,
      status: 200,
      headers: { "content-type": MediaType.OCI_MANIFEST, ...headers },
      body: Buffer.from(other.manifest).toString("utf8"),
    });

    proxy.reset();
    proxy.inject({ method: "GET", path: /\/manifests\//, fault: swap({}) });
    const byDigest = await client(proxy.host).getManifest(repo, image.digest).catch((e: unknown) => e);
    expect(byDigest).toBeInstanceOf(DigestMismatchError);
    expect((byDigest as DigestMismatchError).actual).toBe(other.digest);

    proxy.reset();
    proxy.inject({ method: "GET", path: /\/manifests\//, fault: swap({ "docker-content-digest": image.digest }) });
    await expect(client(proxy.host).getManifest(repo, "v1")).rejects.toThrow(
      `has Docker-Content-Digest ${image.digest}, but its bytes hash to ${other.digest}`,
    );

    proxy.reset();
    proxy.inject({ method: "GET", path: /\/manifests\//, fault: { kind: "corrupt" } });
    await expect(client(proxy.host).getManifest(repo, "v1")).rejects.toThrow(/is not JSON/);
  });
});
