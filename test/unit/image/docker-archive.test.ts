import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assembleImage, type Image } from "../../../src/image/image.js";
import { buildLayer } from "../../../src/image/layer-writer.js";
import { writeDockerArchive } from "../../../src/image/docker-archive.js";
import type { Layer } from "../../../src/image/layer.js";
import { readAll, syntheticBase, tarItems } from "./helpers.js";

let tmp: string;
let image: Image<Layer>;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "flowpack-archive-"));
  const base = await syntheticBase();
  const app = await buildLayer([{ path: "app/hello.js", type: "file", content: "console.log('hi');\n" }], { mtime: 0 });
  image = assembleImage(base, { layers: [{ layer: app, history: { created_by: "test" } }] });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

describe("writeDockerArchive", () => {
  it("writes manifest.json, the config and gzip layers that hash to their digests", async () => {
    const file = join(tmp, "gzip.tar");
    const entry = await writeDockerArchive(image, file, { repoTags: ["docker.io/library/hello:dev", "127.0.0.1:5555/team/hello:1"] });
    const items = await tarItems(await readFile(file));
    const byName = new Map(items.map((i) => [i.header.name, i.content]));
    const manifest = JSON.parse(byName.get("manifest.json")!.toString()) as unknown;
    expect(manifest).toEqual([entry]);
    expect(entry.RepoTags).toEqual(["hello:dev", "127.0.0.1:5555/team/hello:1"]);
    expect(entry.Config).toBe(`${image.configDigest.slice(7)}.json`);
    expect(byName.get(entry.Config)!.equals(image.configBytes)).toBe(true);
    expect(entry.Layers).toEqual(image.layers.map((l) => `${l.digest.slice(7)}.tar.gz`));
    for (const [i, name] of entry.Layers.entries()) expect(sha(byName.get(name)!)).toBe(image.layers[i]!.digest);
    expect(items.map((i) => i.header.name)).toEqual([entry.Config, ...entry.Layers, "manifest.json"]);
    expect(items.every((i) => i.header.mtime?.getTime() === 0 && i.header.uid === 0 && i.header.mode === 0o644)).toBe(true);
    expect((await readdir(tmp)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("writes uncompressed layers named and hashed by diffID, to a stream, deterministically", async () => {
    const collect = async () => {
      const out = new PassThrough();
      const bytes = readAll(out);
      const entry = await writeDockerArchive(image, out, { layerFormat: "uncompressed" });
      return { entry, bytes: await bytes };
    };
    const a = await collect();
    const b = await collect();
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.entry.RepoTags).toEqual([]);
    const byName = new Map((await tarItems(a.bytes)).map((i) => [i.header.name, i.content]));
    for (const [i, name] of a.entry.Layers.entries()) {
      expect(name).toBe(`${image.layers[i]!.diffId.slice(7)}.tar`);
      expect(sha(byName.get(name)!)).toBe(image.layers[i]!.diffId);
    }
  });

  it("stops with a clear error, and no file, when a layer's bytes are not what was recorded", async () => {
    const [base, app] = image.layers as [Layer, Layer];
    const lying = { ...image, layers: [base, { ...app, open: () => Readable.from([Buffer.alloc(app.size)]) }] };
    const file = join(tmp, "lying.tar");
    await expect(writeDockerArchive(lying, file)).rejects.toThrow(/layer 1 \(sha256:[a-f0-9]+\): its digest is sha256:[a-f0-9]+, not the recorded/);
    expect((await readdir(tmp)).filter((n) => n.startsWith("lying"))).toEqual([]);
    await expect(writeDockerArchive(image, join(tmp, "x.tar"), { repoTags: [`hello@sha256:${"a".repeat(64)}`] })).rejects.toThrow(
      /must be name:tag/,
    );
    await expect(writeDockerArchive(image, join(tmp, "x.tar"), { repoTags: ["Bad:tag"] })).rejects.toThrow(/lowercase/);
  });
});
