/**
 * Round trips of a push (issue 13), counted at a proxy in front of the real registry: a code-only
 * change (new config and app layer, everything else already pushed) costs no HEAD and 3 requests in
 * a row; a record of pushed blobs that lies (a blob deleted behind its back, a refused manifest)
 * still ends with a complete image. Counts and orders only, never times.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FileBlobRecord } from "../../../src/registry/blob-record.js";
import { RegistryClient } from "../../../src/registry/client.js";
import { anonymousKeychain } from "../../../src/registry/keychain.js";
import { flowpack } from "../../helpers/cli.js";
import { criticalPath, startFaultProxy, type Fault, type FaultProxy } from "../../helpers/fault-proxy.js";
import { example, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { blobOf, fastRetry, randomBlob, tempDir, uniqueRepo, type TestBlob, type TestImage } from "./_fixtures.js";
import { MediaType } from "../../../src/oci/media-types.js";

const registry = services().FLOWPACK_TEST_REGISTRY;
const direct = new RegistryClient({ host: registry, keychain: anonymousKeychain, retry: fastRetry });

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await proxy.close();
});

function viaProxy(): RegistryClient {
  return new RegistryClient({ host: proxy.host, keychain: anonymousKeychain, retry: fastRetry, timeouts: { headersMs: 10_000, bodyMs: 10_000 } });
}

/** An image of a fresh config over the given layers. */
function imageOf(layers: TestBlob[]): TestImage {
  const config = blobOf(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(8).toString("hex") })), MediaType.OCI_CONFIG);
  const describe = (b: TestBlob) => ({ mediaType: b.mediaType ?? "application/octet-stream", digest: b.digest, size: b.size });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: describe(config), layers: layers.map(describe) }));
  return { config, layers, blobs: [config, ...layers], manifest, mediaType: MediaType.OCI_MANIFEST, digest: blobOf(manifest).digest };
}

async function expectComplete(repo: string, tag: string, image: TestImage): Promise<void> {
  expect((await direct.headManifest(repo, tag))?.digest).toBe(image.digest);
  for (const blob of image.blobs) expect(await direct.blobExists(repo, blob.digest), blob.digest).toBe(blob.size);
}

const requests = () => proxy.requests.map((r) => `${r.method} ${r.path.replace(/\/uploads\/.+$/, "/uploads/…").replace(/sha256:[0-9a-f]+/, "<digest>")}${r.fault ? ` (${r.fault})` : ""}`);

/** Pushes `image` as the oci builder does: known blobs from the record, small blobs without a HEAD, 2 sessions opened ahead. */
async function pushLikeBuilder(client: RegistryClient, record: FileBlobRecord, repo: string, tag: string, image: TestImage, refuted: string[] = []) {
  const sessions = client.openUploadSessions(repo, 2);
  const known = new Set(await record.known(client.host, repo));
  const result = await client.pushManifest(repo, tag, {
    manifest: image.manifest,
    mediaType: image.mediaType,
    blobs: image.blobs,
    known,
    onRecordRefuted: async () => {
      refuted.push(repo);
      await record.forget(client.host, repo);
    },
    uploadWithoutHead: (blob) => blob.size <= 256 * 1024,
    sessions,
  });
  await record.add(client.host, repo, result.blobs.map((b) => b.digest));
  return result;
}

/**
 * How long the proxy holds each request while round trips are counted: requests sent together
 * overlap at the proxy then, even on a loaded machine (without it, two PUTs sent at once were seen
 * one after the other when the test process was slow to send the second).
 */
const HOLD_MS = 300;
afterEach(() => proxy.hold(0));

describe("a code-only push", () => {
  it("sends no HEAD for recorded blobs and needs 3 round trips: POST sessions, PUT config and layer in parallel, PUT manifest", async () => {
    const cache = tempDir("record");
    try {
      const record = new FileBlobRecord(cache.path);
      const repo = uniqueRepo("rtt");
      const base = [randomBlob(300 * 1024), randomBlob(400 * 1024)];
      const first = imageOf([...base, randomBlob(4 * 1024)]);
      proxy.reset();
      await pushLikeBuilder(viaProxy(), record, repo, "v1", first);
      // first push: the two big layers are asked about, the small config and layer are not
      expect(requests().filter((r) => r.startsWith("HEAD"))).toHaveLength(2);

      const change = imageOf([...base, randomBlob(4 * 1024)]);
      proxy.reset();
      proxy.hold(HOLD_MS);
      const result = await pushLikeBuilder(viaProxy(), record, repo, "v2", change);
      expect(requests().sort()).toEqual(
        [
          `POST /v2/${repo}/blobs/uploads/`,
          `POST /v2/${repo}/blobs/uploads/`,
          `PUT /v2/${repo}/blobs/uploads/…`,
          `PUT /v2/${repo}/blobs/uploads/…`,
          `PUT /v2/${repo}/manifests/v2`,
        ].sort(),
      );
      expect(criticalPath(proxy)).toBe(3);
      expect(result.blobs.map((b) => b.status).sort()).toEqual(["known", "known", "uploaded", "uploaded"]);
      await expectComplete(repo, "v2", change);
    } finally {
      cache.remove();
    }
  });

  it("deletes the sessions it opened ahead and did not use", async () => {
    const cache = tempDir("record-unused");
    try {
      const record = new FileBlobRecord(cache.path);
      const repo = uniqueRepo("rtt-unused");
      const image = imageOf([randomBlob(1024)]);
      await pushLikeBuilder(viaProxy(), record, repo, "v1", image);
      proxy.reset();
      // the same image again, a new tag: every blob is known, both sessions go unused
      await pushLikeBuilder(viaProxy(), record, repo, "v2", image);
      expect(requests().filter((r) => r.startsWith("DELETE"))).toEqual([`DELETE /v2/${repo}/blobs/uploads/…`, `DELETE /v2/${repo}/blobs/uploads/…`]);
      expect(requests().filter((r) => r.startsWith("HEAD") || r.startsWith("PUT /v2/" + repo + "/blobs"))).toEqual([]);
      await expectComplete(repo, "v2", image);
    } finally {
      cache.remove();
    }
  });
});

describe("a push that fails", () => {
  it("deletes the upload sessions it opened ahead and did not use", async () => {
    const repo = uniqueRepo("rtt-failed");
    const image = imageOf([randomBlob(1024)]); // config + layer: 2 uploads, 3 sessions
    proxy.reset();
    proxy.inject({ method: "PUT", path: /\/blobs\/uploads\//, times: Infinity, fault: { kind: "status", status: 400, body: JSON.stringify({ errors: [{ code: "BLOB_UPLOAD_INVALID", message: "no" }] }) } });
    const client = viaProxy();
    const sessions = client.openUploadSessions(repo, 3);
    const error = await client.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs, uploadWithoutHead: () => true, sessions }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(requests().filter((r) => r.startsWith("POST"))).toHaveLength(3);
    expect(requests().filter((r) => r.startsWith("PUT /v2/" + repo + "/manifests"))).toEqual([]);
    // the session no upload took is deleted, not left open on the registry
    expect(sessions.opened - sessions.used).toBe(1);
    expect(requests().filter((r) => r.startsWith("DELETE"))).toEqual([`DELETE /v2/${repo}/blobs/uploads/…`]);
  });
});

describe("uploads without a HEAD", () => {
  it("only the blobs the caller names: a small base layer is still mounted, not uploaded", async () => {
    const baseRepo = uniqueRepo("rtt-base");
    const smallBase = randomBlob(2048);
    const base = imageOf([smallBase]);
    await direct.pushManifest(baseRepo, "v1", { manifest: base.manifest, mediaType: base.mediaType, blobs: base.blobs });
    const repo = uniqueRepo("rtt-mount");
    const image = imageOf([smallBase, randomBlob(1024)]);
    proxy.reset();
    const result = await viaProxy().pushManifest(repo, "v1", {
      manifest: image.manifest,
      mediaType: image.mediaType,
      blobs: image.blobs,
      mountFrom: baseRepo,
      uploadWithoutHead: (blob) => blob.size <= 256 * 1024 && blob.digest !== smallBase.digest,
    });
    expect(result.blobs.find((b) => b.digest === smallBase.digest)?.status).toBe("mounted");
    expect(requests().filter((r) => r.startsWith("HEAD"))).toEqual([`HEAD /v2/${repo}/blobs/<digest>`]); // the base layer's only
    await expectComplete(repo, "v1", image);
  });
});

describe("a record that lies", () => {
  it("a recorded blob deleted from the registry: the manifest is refused, the record dropped, the blob uploaded again, the image complete", async () => {
    const cache = tempDir("record-lie");
    try {
      const record = new FileBlobRecord(cache.path);
      const repo = uniqueRepo("rtt-lie");
      const shared = randomBlob(300 * 1024);
      await pushLikeBuilder(viaProxy(), record, repo, "v1", imageOf([shared, randomBlob(1024)]));
      // behind the record's back
      const res = await fetch(`http://${registry}/v2/${repo}/blobs/${shared.digest}`, { method: "DELETE" });
      expect(res.status).toBe(202);
      expect(await direct.blobExists(repo, shared.digest)).toBeUndefined();

      const change = imageOf([shared, randomBlob(1024)]);
      const refuted: string[] = [];
      proxy.reset();
      const result = await pushLikeBuilder(viaProxy(), record, repo, "v2", change, refuted);
      expect(refuted).toEqual([repo]);
      const after = requests().slice(requests().findIndex((r) => r.startsWith("PUT /v2/" + repo + "/manifests")));
      expect(after).toContain(`HEAD /v2/${repo}/blobs/<digest>`);
      expect(after.filter((r) => r.startsWith("PUT /v2/" + repo + "/manifests"))).toHaveLength(2);
      expect(result.blobs.find((b) => b.digest === shared.digest)?.status).toBe("uploaded");
      await expectComplete(repo, "v2", change);
      // the record was dropped, then rewritten from what this push found
      expect([...(await record.known(proxy.host, repo))].sort()).toEqual(change.blobs.map((b) => b.digest).sort());
    } finally {
      cache.remove();
    }
  });

  it.each([
    ["MANIFEST_BLOB_UNKNOWN", { kind: "status", status: 400, body: JSON.stringify({ errors: [{ code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown" }] }) }],
    ["any other refusal (MANIFEST_INVALID)", { kind: "status", status: 400, body: JSON.stringify({ errors: [{ code: "MANIFEST_INVALID", message: "nope" }] }) }],
  ] as [string, Fault][])("a manifest PUT refused once after trusting the record (%s): every blob checked, PUT again", async (_name, fault) => {
    const cache = tempDir("record-refused");
    try {
      const record = new FileBlobRecord(cache.path);
      const repo = uniqueRepo("rtt-refused");
      const shared = randomBlob(300 * 1024);
      await pushLikeBuilder(viaProxy(), record, repo, "v1", imageOf([shared]));
      const change = imageOf([shared, randomBlob(2048)]);
      const refuted: string[] = [];
      proxy.reset();
      proxy.inject({ method: "PUT", path: /\/manifests\//, fault });
      await pushLikeBuilder(viaProxy(), record, repo, "v2", change, refuted);
      expect(refuted).toEqual([repo]);
      const after = requests().slice(requests().findIndex((r) => r.includes("(status)")) + 1);
      expect(after.filter((r) => r.startsWith("HEAD"))).toHaveLength(change.blobs.length);
      expect(after.at(-1)).toBe(`PUT /v2/${repo}/manifests/v2`);
      await expectComplete(repo, "v2", change);
    } finally {
      cache.remove();
    }
  });

  it("a denied or rate-limited manifest PUT (403, 429) after trusting the record fails at once: the record is kept, no blob re-checked", async () => {
    const cache = tempDir("record-denied");
    try {
      const record = new FileBlobRecord(cache.path);
      const repo = uniqueRepo("rtt-denied");
      const shared = randomBlob(300 * 1024);
      await pushLikeBuilder(viaProxy(), record, repo, "v1", imageOf([shared]));
      for (const [status, code] of [[403, "DENIED"], [429, "TOOMANYREQUESTS"]] as const) {
        const refuted: string[] = [];
        proxy.reset();
        proxy.inject({ method: "PUT", path: /\/manifests\//, times: Infinity, fault: { kind: "status", status, body: JSON.stringify({ errors: [{ code, message: "no" }] }) } });
        const error = await pushLikeBuilder(viaProxy(), record, repo, `v-${status}`, imageOf([shared, randomBlob(2048)]), refuted).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Error);
        expect(refuted).toEqual([]);
        expect(requests().filter((r) => r.startsWith("HEAD"))).toEqual([]);
      }
    } finally {
      cache.remove();
    }
  });

  it("without a record, any other refusal still fails the push at once (as before)", async () => {
    const repo = uniqueRepo("rtt-norecord");
    const image = imageOf([randomBlob(1024)]);
    proxy.reset();
    proxy.inject({ method: "PUT", path: /\/manifests\//, fault: { kind: "status", status: 400, body: JSON.stringify({ errors: [{ code: "MANIFEST_INVALID", message: "nope" }] }) } });
    const error = await viaProxy().pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/MANIFEST_INVALID/);
    expect(requests().filter((r) => r.startsWith("PUT /v2/" + repo + "/manifests"))).toHaveLength(1);
  });
});

describe("flowpack package, oci builder, code-only change", () => {
  const work = tempDir("rtt-cli");
  afterAll(() => work.remove());

  it("resolves the base once per FLOWPACK_BASE_TTL and sends no HEAD on the second push; 3 round trips", async () => {
    const dir = join(work.path, "flow");
    mkdirSync(dir, { recursive: true });
    cpSync(example("hello", "flow.ts"), join(dir, "flow.ts"));
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules")); // zod and flowpack, as in the examples
    writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "rtt-flow", version: "1.0.0", type: "module", dependencies: { zod: "^4" } })}\n`);
    const source = readFileSync(join(dir, "flow.ts"), "utf8");
    const env = { FLOWPACK_CACHE_DIR: join(work.path, "cache"), DOCKER_CONFIG: join(work.path, "docker-config"), DOCKER_HOST: "" };
    const namespace = `flowpack-test/rtt-cli-${randomBytes(4).toString("hex")}`;
    const repo = `${namespace}/hello`; // namespace + the flow's name
    const packageOnce = async (variant: string, extraEnv: NodeJS.ProcessEnv = {}) => {
      writeFileSync(join(dir, "flow.ts"), source.replace("Hello, ", `Hello ${variant}, `));
      proxy.reset();
      const r = await flowpack(
        ["package", join(dir, "flow.ts"), "--packager", "docker", "--builder", "oci", "--base-image", `${proxy.host}/flowpack-test/node:20`, "--registry", `http://${proxy.host}/${namespace}`, "-o", join(work.path, "m.json"), "-q"],
        { env: { ...env, ...extraEnv }, timeoutMs: 90_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      return requests();
    };
    const cold = await packageOnce("a");
    expect(cold.filter((r) => r.startsWith("GET /v2/flowpack-test/node/manifests"))).toHaveLength(1);

    proxy.hold(HOLD_MS);
    const change = await packageOnce("b");
    proxy.hold(0);
    expect(change.filter((r) => r.startsWith("GET") || r.startsWith("HEAD"))).toEqual([]);
    expect(change.filter((r) => r.startsWith("PUT /v2/" + repo + "/blobs"))).toHaveLength(2); // config, app layer
    expect(change).toHaveLength(5);
    expect(criticalPath(proxy)).toBe(3);
    const manifest = JSON.parse(readFileSync(join(work.path, "m.json"), "utf8")) as { image: string };
    const digest = manifest.image.slice(manifest.image.indexOf("@") + 1);
    expect((await direct.headManifest(repo, digest))?.digest).toBe(digest);

    // FLOWPACK_BASE_TTL=0: the tag is asked again (the manifest and config stay cached by digest)
    const again = await packageOnce("c", { FLOWPACK_BASE_TTL: "0" });
    expect(again.filter((r) => r.startsWith("GET /v2/flowpack-test/node/manifests"))).toHaveLength(1);
    expect(again.filter((r) => r.startsWith("GET /v2/flowpack-test/node/blobs"))).toEqual([]);
  });

  it("opens the upload sessions where the entry's last push went while the flow is still being read; a renamed flow's image goes where its name says", async () => {
    const dir = join(work.path, "hinted");
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "hinted-flow", version: "1.0.0", type: "module" })}\n`);
    // Its module, loaded to read the flow's name, waits, then asks the proxy for a marker: a request
    // whose place in the proxy's order says when the read ended.
    const marker = "/v2/flowpack-test/marker-flow-loaded";
    const flowSource = (name: string, variant: string) => `import { flow } from "flowpack";
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
await fetch(process.env.FP_MARKER_URL ?? "").catch(() => undefined);
export const f = flow({ name: ${JSON.stringify(name)} }, async () => ${JSON.stringify(variant)});
`;
    const env = { FLOWPACK_CACHE_DIR: join(work.path, "hinted-cache"), DOCKER_CONFIG: join(work.path, "docker-config"), DOCKER_HOST: "" };
    const namespace = `flowpack-test/rtt-hint-${randomBytes(4).toString("hex")}`;
    const packageOnce = async (name: string, variant: string) => {
      writeFileSync(join(dir, "flow.ts"), flowSource(name, variant));
      proxy.reset();
      const r = await flowpack(
        ["package", join(dir, "flow.ts"), "--packager", "docker", "--builder", "oci", "--base-image", `${proxy.host}/flowpack-test/node:20`, "--registry", `http://${proxy.host}/${namespace}`, "--env", `FP_MARKER_URL=http://${proxy.host}${marker}`, "-o", join(work.path, "hinted.json"), "-q"],
        { env, timeoutMs: 90_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      const at = (r: { method: string; path: string }) => proxy.order.get(r as (typeof proxy.requests)[number])!.started;
      const loaded = at(proxy.requests.find((q) => q.path === marker)!);
      const posts = proxy.requests.filter((q) => q.method === "POST");
      return {
        postsBeforeLoaded: posts.filter((q) => at(q) < loaded).map((q) => q.path),
        postsAfterLoaded: posts.filter((q) => at(q) > loaded).map((q) => q.path),
        deleted: proxy.requests.filter((q) => q.method === "DELETE").map((q) => q.path.replace(/\/uploads\/.+$/, "/uploads/…")),
        image: (JSON.parse(readFileSync(join(work.path, "hinted.json"), "utf8")) as { image: string }).image,
      };
    };
    const uploads = (flow: string) => `/v2/${namespace}/${flow}/blobs/uploads/`;

    const first = await packageOnce("hinted-a", "1"); // no hint yet: the sessions open once the name is read
    expect(first.postsBeforeLoaded).toEqual([]);
    const change = await packageOnce("hinted-a", "2");
    expect(change.postsBeforeLoaded).toEqual([uploads("hinted-a"), uploads("hinted-a")]);
    expect(change.postsAfterLoaded).toEqual([]);
    expect(change.deleted).toEqual([]);

    const renamed = await packageOnce("hinted-b", "3");
    expect(renamed.postsBeforeLoaded).toEqual([uploads("hinted-a"), uploads("hinted-a")]); // the guess
    expect(renamed.deleted).toEqual([`/v2/${namespace}/hinted-a/blobs/uploads/…`, `/v2/${namespace}/hinted-a/blobs/uploads/…`]);
    expect(renamed.image).toMatch(new RegExp(`^${proxy.host.replace(/[.]/g, "\\.")}/${namespace}/hinted-b:`));
    const digest = renamed.image.slice(renamed.image.indexOf("@") + 1);
    expect((await direct.headManifest(`${namespace}/hinted-b`, digest))?.digest).toBe(digest);
    expect((await packageOnce("hinted-b", "4")).postsBeforeLoaded).toEqual([uploads("hinted-b"), uploads("hinted-b")]);
  });

  it("a FLOWPACK_BASE_TTL that is not a number of seconds: exit 2, one line", async () => {
    const r = await flowpack(
      ["package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "oci", "--base-image", `${proxy.host}/flowpack-test/node:20`, "--registry", `http://${proxy.host}/flowpack-test/rtt-ttl`, "-o", join(work.path, "m2.json"), "-q"],
      { env: { FLOWPACK_BASE_TTL: "soon", FLOWPACK_CACHE_DIR: join(work.path, "cache") }, timeoutMs: 60_000 },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FLOWPACK_BASE_TTL must be a number of seconds ≥ 0, not "soon"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
