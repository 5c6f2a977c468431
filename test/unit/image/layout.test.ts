import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../../src/oci/compute-digest.js";
import { assembleImage, type Image } from "../../../src/image/image.js";
import { blobPath, initLayout, readBlob, readImageFromLayout, readLayoutIndex, REF_NAME_ANNOTATION, writeBlob, writeImageToLayout } from "../../../src/image/layout.js";
import { buildLayer } from "../../../src/image/layer-writer.js";
import { canonicalJson } from "../../../src/oci/image.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { extractLayers } from "../../../src/image/extract.js";
import { ImageFormatError, ImageLayoutError } from "../../../src/errors.js";
import type { Layer } from "../../../src/image/layer.js";
import { validateLayoutImage } from "../../helpers/validate-image.js";
import { readAll, syntheticBase } from "./helpers.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "flowpack-layout-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function makeImage(message: string): Promise<Image<Layer>> {
  const base = await syntheticBase();
  const app = await buildLayer([{ path: "app/hello.js", type: "file", content: `console.log(${JSON.stringify(message)});\n` }], { mtime: 0 });
  return assembleImage(base, { layers: [{ layer: app, history: { created_by: "test: app" } }], changes: { cmd: ["node", "/app/hello.js"] } });
}

describe("OCI image layout", () => {
  it("writes images that validate, with ref names, and reads them back", async () => {
    const dir = join(tmp, "two-images");
    const one = await makeImage("one");
    const two = await makeImage("two");
    const d1 = await writeImageToLayout(dir, one, { refName: "one" });
    await writeImageToLayout(dir, two, { refName: "two" });
    expect(d1).toEqual({
      mediaType: MediaType.OCI_MANIFEST,
      digest: one.manifestDigest,
      size: one.manifestBytes.length,
      platform: { architecture: "amd64", os: "linux" },
      annotations: { [REF_NAME_ANNOTATION]: "one" },
    });
    expect(JSON.parse(await readFile(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = await readLayoutIndex(dir);
    expect(index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(["one", "two"]);
    expect(await validateLayoutImage(dir)).toEqual([]);
    // the base layer is shared: 1 base layer + 2 app layers + 2 configs + 2 manifests
    const blobs = await readdir(join(dir, "blobs", "sha256"));
    expect(blobs).toHaveLength(7);
    expect(blobs.every((name) => /^[a-f0-9]{64}$/.test(name))).toBe(true);

    const read = await readImageFromLayout(dir, { refName: "two" });
    expect(read.manifestDigest).toBe(two.manifestDigest);
    expect(read.configBytes.equals(two.configBytes)).toBe(true);
    expect(read.layers.map((l) => [l.digest, l.diffId, l.size])).toEqual(two.layers.map((l) => [l.digest, l.diffId, l.size]));
    expect((await readAll(read.layers[1]!.open())).equals(await readAll(two.layers[1]!.open()))).toBe(true);
    expect(read.refName).toBe("two");
  });

  it("moves a ref name to the new image when it is written again, and is deterministic", async () => {
    const a = join(tmp, "retag-a");
    const b = join(tmp, "retag-b");
    await writeImageToLayout(a, await makeImage("old"), { refName: "latest" });
    await writeImageToLayout(a, await makeImage("new"), { refName: "latest" });
    await writeImageToLayout(b, await makeImage("new"), { refName: "latest" });
    const index = await readLayoutIndex(a);
    expect(index.manifests).toHaveLength(1);
    expect((await readFile(join(a, "index.json"))).equals(await readFile(join(b, "index.json")))).toBe(true);
  });

  it("asks for a ref name when several images are present, listing them", async () => {
    const dir = join(tmp, "two-images");
    await expect(readImageFromLayout(dir)).rejects.toThrow(/holds 2 images: say which one by ref name \(it holds: one, two\)/);
    await expect(readImageFromLayout(dir, { refName: "three" })).rejects.toThrow(/no image named "three"; it holds: one, two/);
  });

  it("follows a nested index to the wanted platform, and says which platforms exist", async () => {
    const dir = join(tmp, "multi");
    const image = await makeImage("multi");
    await writeImageToLayout(dir, image);
    const arm = await writeBlob(dir, Buffer.from("{}"));
    const nested = canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [
        { mediaType: MediaType.OCI_MANIFEST, digest: arm.digest, size: arm.size, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { mediaType: MediaType.OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBytes.length, platform: { os: "linux", architecture: "amd64" } },
      ],
    });
    const nestedBlob = await writeBlob(dir, nested);
    await writeFile(
      join(dir, "index.json"),
      canonicalJson({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OCI_INDEX, digest: nestedBlob.digest, size: nestedBlob.size, annotations: { [REF_NAME_ANNOTATION]: "multi" } }] }),
    );
    const read = await readImageFromLayout(dir, { platform: { os: "linux", architecture: "amd64" } });
    expect(read.manifestDigest).toBe(image.manifestDigest);
    await expect(readImageFromLayout(dir, { platform: { os: "linux", architecture: "s390x" } })).rejects.toThrow(
      /no image for linux\/s390x \(available: linux\/arm64\/v8, linux\/amd64\)/,
    );
  });

  it("never leaves a blob whose bytes do not match its digest, nor anything else the failed write added", async () => {
    const image = await makeImage("x");
    const [base, app] = image.layers as [Layer, Layer];
    const lying: Layer = { ...app, open: () => Readable.from([Buffer.from("not the layer")]) };
    const failing = (dir: string) =>
      expect(writeImageToLayout(dir, { ...image, layers: [base, lying] }, { refName: "x" })).rejects.toThrow(
        /blob sha256:[a-f0-9]+ \(\d+ bytes\) read back as sha256:[a-f0-9]+ \(13 bytes\)/,
      );
    // A new layout: the folder the call made is gone again.
    const fresh = join(tmp, "corrupt", "layout");
    await failing(fresh);
    expect(existsSync(join(tmp, "corrupt"))).toBe(false);
    // An existing layout: the base layer's blob it wrote is taken back, the index is as it was.
    const existing = join(tmp, "corrupt-existing");
    await initLayout(existing);
    await failing(existing);
    expect(await readdir(join(existing, "blobs", "sha256"))).toEqual([]);
    expect((await readLayoutIndex(existing)).manifests).toEqual([]);
  });

  it("verifies blobs on read and explains what is missing", async () => {
    const dir = join(tmp, "verify");
    await initLayout(dir);
    const { digest } = await writeBlob(dir, Buffer.from("hello"));
    expect((await readBlob(dir, digest)).toString()).toBe("hello");
    await writeFile(blobPath(dir, digest), "HELLO");
    await expect(readBlob(dir, digest)).rejects.toThrow(/is corrupted/);
    await expect(readBlob(dir, sha256("missing"))).rejects.toThrow(/is missing from the layout/);
    await expect(readImageFromLayout(dir)).rejects.toThrow(/holds no images/);
    const notLayout = join(tmp, "not-a-layout");
    await mkdir(notLayout);
    const error = await readImageFromLayout(notLayout).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageLayoutError);
    expect((error as Error).message).toMatch(/is not an OCI image layout \(no oci-layout file\)/);
    await expect(writeImageToLayout(dir, await makeImage("x"), { refName: "bad name!" })).rejects.toThrow(/does not match the OCI grammar/);
  });

  describe("by digest", () => {
    it("finds an index.json entry by digest, whatever the ref names say", async () => {
      const dir = join(tmp, "two-images");
      const index = await readLayoutIndex(dir);
      const one = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === "one")!;
      const read = await readImageFromLayout(dir, { digest: one.digest });
      expect(read.manifestDigest).toBe(one.digest);
      expect(read.refName).toBe("one");
      // the ref name is only a hint: the digest decides
      expect((await readImageFromLayout(dir, { digest: one.digest, refName: "two" })).manifestDigest).toBe(one.digest);
    });

    it("still reads the pinned image after its ref name moved on, straight from its blobs", async () => {
      const dir = join(tmp, "moved");
      const old = await makeImage("old");
      const next = await makeImage("new");
      await writeImageToLayout(dir, old, { refName: "latest" });
      await writeImageToLayout(dir, next, { refName: "latest" });
      expect((await readLayoutIndex(dir)).manifests.map((m) => m.digest)).toEqual([next.manifestDigest]);
      const read = await readImageFromLayout(dir, { digest: old.manifestDigest, refName: "latest" });
      expect(read.manifestDigest).toBe(old.manifestDigest);
      expect(read.configBytes.equals(old.configBytes)).toBe(true);
      expect(read.refName).toBeUndefined();
      expect((await readAll(read.layers[1]!.open())).equals(await readAll(old.layers[1]!.open()))).toBe(true);

      // once its blobs are gone, the error says what the name points at now
      await rm(blobPath(dir, old.manifestDigest));
      const error = await readImageFromLayout(dir, { digest: old.manifestDigest, refName: "latest" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageLayoutError);
      expect((error as Error).message).toContain(`does not hold the image ${old.manifestDigest} ("latest" now names ${next.manifestDigest})`);
    });

    it("finds a manifest inside a nested index by digest", async () => {
      const dir = join(tmp, "multi");
      const index = await readLayoutIndex(dir);
      const nested = JSON.parse((await readBlob(dir, index.manifests[0]!.digest)).toString()) as { manifests: { digest: string }[] };
      const amd64 = nested.manifests[1]!.digest;
      const read = await readImageFromLayout(dir, { digest: amd64, platform: { os: "linux", architecture: "amd64" } });
      expect(read.manifestDigest).toBe(amd64);
      expect(read.refName).toBe("multi");
    });
  });

  it("refuses a single-platform image asked for another platform, naming both", async () => {
    const dir = join(tmp, "single-platform");
    const image = await makeImage("amd64 only");
    await writeImageToLayout(dir, image, { refName: "x" });
    expect((await readImageFromLayout(dir, { platform: { os: "linux", architecture: "amd64" } })).manifestDigest).toBe(image.manifestDigest);
    for (const platform of [{ os: "linux", architecture: "arm64" }, { os: "windows", architecture: "amd64" }]) {
      const error = await readImageFromLayout(dir, { platform }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageFormatError);
      expect((error as Error).message).toMatch(new RegExp(`is built for linux/amd64, not ${platform.os}/${platform.architecture}$`));
    }
  });

  it("checks layer bytes against their digest as they are read, so extracting a swapped blob of the same size fails", async () => {
    const dir = join(tmp, "swapped");
    const base = await syntheticBase();
    // Stored (level 0) gzip: two contents of the same length give blobs of the same size.
    const good = await buildLayer([{ path: "app/run.js", type: "file", content: "console.log('good');\n" }], { mtime: 0, compressionLevel: 0 });
    const evil = await buildLayer([{ path: "app/run.js", type: "file", content: "console.log('evil');\n" }], { mtime: 0, compressionLevel: 0 });
    expect(evil.size).toBe(good.size);
    const image = assembleImage(base, { layers: [{ layer: good }] });
    await writeImageToLayout(dir, image, { refName: "x" });
    await writeFile(blobPath(dir, good.digest), await readAll(evil.open()));

    const read = await readImageFromLayout(dir, { refName: "x" });
    const target = join(tmp, "swapped-root");
    const error = await extractLayers([read.layers[1]!], target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageLayoutError);
    expect((error as Error).message).toBe(
      `layer 1 (${good.digest}) in ${dir} is corrupted: its blob is ${good.size} bytes hashing to ${evil.digest}`,
    );
  });
});
