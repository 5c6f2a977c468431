import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildLayer } from "../../../src/image/layer-writer.js";
import type { LayerEntry } from "../../../src/image/layer.js";
import { LayerCache } from "../../../src/image/layer-cache.js";
import { readAll } from "./helpers.js";
import { hostTagOf } from "../../../src/_internal/temp-dirs.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "flowpack-layer-cache-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const entries: LayerEntry[] = [{ path: "opt/app/index.js", type: "file", content: "module.exports = 42;\n" }];
const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

describe("LayerCache", () => {
  it("removes the half-built blobs a killed build left behind, and never a live build's", async () => {
    const dir = join(tmp, "killed");
    const blobs = join(dir, "layers", "blobs");
    await mkdir(blobs, { recursive: true });
    const dead = `building-999999999.${hostTagOf()}-abc.0a0b0c`; // no such pid
    const live = `building-${process.ppid}.${hostTagOf()}-def.0d0e0f`; // the test runner's parent: alive
    await writeFile(join(blobs, dead), "partial");
    await writeFile(join(blobs, live), "partial");
    await new LayerCache(dir).layer("k", () => entries);
    const left = await readdir(blobs);
    expect(left).not.toContain(dead);
    expect(left).toContain(live);
    expect(left.filter((name) => name.startsWith("building-"))).toEqual([live]);
  });


  it("keys layers by the effective SOURCE_DATE_EPOCH, so a layer built under one epoch is not reused under another", async () => {
    const cache = new LayerCache(join(tmp, "epoch"));
    vi.stubEnv("SOURCE_DATE_EPOCH", "0");
    const first = await cache.layer("k", () => entries);
    expect(first.cached).toBe(false);
    expect((await cache.layer("k", () => entries)).cached).toBe(true);

    vi.stubEnv("SOURCE_DATE_EPOCH", "1700000000");
    const later = await cache.layer("k", () => entries);
    expect(later.cached).toBe(false);
    expect(later.layer.digest).toBe((await buildLayer(entries)).digest);
    expect(later.layer.digest).not.toBe(first.layer.digest);
    // an explicit mtime is the same thing as that epoch
    expect((await cache.layer("k", () => entries, { mtime: 1700000000 })).cached).toBe(true);
    expect((await cache.layer("k", () => entries, { mtime: 0 })).layer.digest).toBe(first.layer.digest);
  });

  it("keys layers by the compression level", async () => {
    const cache = new LayerCache(join(tmp, "level"));
    const six = await cache.layer("k", () => entries, { mtime: 0 });
    const nine = await cache.layer("k", () => entries, { mtime: 0, compressionLevel: 9 });
    expect(nine.cached).toBe(false);
    expect(nine.layer.digest).toBe((await buildLayer(entries, { mtime: 0, compressionLevel: 9 })).digest);
    expect(nine.layer.diffId).toBe(six.layer.diffId);
    expect((await cache.layer("k", () => entries, { mtime: 0, compressionLevel: 6 })).cached).toBe(true);
  });

  it("stores each blob under its own digest, so a record only ever names a blob by its content", async () => {
    const dir = join(tmp, "content-addressed");
    const { layer } = await new LayerCache(dir).layer("k", () => entries, { mtime: 0 });
    const blobs = await readdir(join(dir, "layers", "blobs"));
    expect(blobs).toEqual([`${layer.digest.slice("sha256:".length)}.tar.gz`]);
    const records = (await readdir(join(dir, "layers"))).filter((name) => name.endsWith(".json"));
    expect(records).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, "layers", records[0]!), "utf8"))).toMatchObject({ digest: layer.digest, size: layer.size });
  });

  it("never pairs a record with another writer's blob when two build the same key at once", async () => {
    const dir = join(tmp, "race");
    // Two processes whose inputs differ under the same key (a file changed between them).
    const contents = Array.from({ length: 8 }, (_, i) => [{ path: "x", type: "file" as const, content: `version ${i}\n`.repeat(1000 + i) }]);
    const results = await Promise.all(contents.map((c) => new LayerCache(dir).layer("same-key", async () => c, { mtime: 0 })));
    const again = await new LayerCache(dir).layer("same-key", () => [], { mtime: 0 });
    expect(again.cached).toBe(true);
    for (const { layer } of [...results, again]) {
      const bytes = await readAll(layer.open());
      expect(sha256(bytes)).toBe(layer.digest);
      expect(bytes.length).toBe(layer.size);
    }
    expect((await readdir(join(dir, "layers", "blobs"))).filter((name) => !name.endsWith(".tar.gz"))).toEqual([]);
  });
});
