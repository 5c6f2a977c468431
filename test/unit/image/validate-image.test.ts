import { describe, expect, it } from "vitest";
import { sha256 } from "../../../src/oci/compute-digest.js";
import { assembleImage, type Image } from "../../../src/image/image.js";
import { buildLayer } from "../../../src/image/layer-writer.js";
import { canonicalJson } from "../../../src/oci/image.js";
import type { Layer } from "../../../src/image/layer.js";
import { validateImage, validateRegistryImage } from "../../helpers/validate-image.js";
import { readAll, syntheticBase } from "./helpers.js";

/** Serves an image from memory, letting a test swap any blob or the manifest. */
async function source(image: Image<Layer>, overrides: { manifest?: Buffer; blobs?: Record<string, Buffer> } = {}) {
  const blobs = new Map<string, Buffer>([[image.configDigest, image.configBytes]]);
  for (const layer of image.layers) blobs.set(layer.digest, await readAll(layer.open()));
  for (const [digest, bytes] of Object.entries(overrides.blobs ?? {})) blobs.set(digest, bytes);
  const manifest = overrides.manifest ?? image.manifestBytes;
  return {
    manifest: async () => manifest,
    blob: async (digest: string) => {
      const bytes = blobs.get(digest);
      if (!bytes) throw new Error(`blob ${digest} not found`);
      return bytes;
    },
    expected: { digest: image.manifestDigest, size: image.manifestBytes.length },
  };
}

async function image(): Promise<Image<Layer>> {
  const base = await syntheticBase();
  const app = await buildLayer([{ path: "app/a.js", type: "file", content: "a" }], { mtime: 0 });
  return assembleImage(base, { layers: [{ layer: app, history: { created_by: "test" } }] });
}

describe("validate-image helper", () => {
  it("finds nothing wrong with a good image", async () => {
    const good = await image();
    expect(await validateImage(await source(good))).toEqual([]);
    const fetched = await source(good);
    expect(await validateRegistryImage({ getManifest: async () => ({ bytes: good.manifestBytes, digest: good.manifestDigest }), getBlob: fetched.blob })).toEqual([]);
  });

  it("catches a wrong diffID, layer size, history count and config digest", async () => {
    const good = await image();
    const config = { ...good.config, rootfs: { ...good.config.rootfs, diff_ids: [good.config.rootfs.diff_ids[0]!, sha256("nope")] }, history: [] };
    const configBytes = canonicalJson(config);
    const manifest = {
      ...good.manifest,
      config: { ...good.manifest.config, digest: sha256(configBytes), size: configBytes.length + 1 },
      layers: [good.manifest.layers[0]!, { ...good.manifest.layers[1]!, size: good.manifest.layers[1]!.size + 1 }],
    };
    const problems = await validateImage(await source(good, { manifest: canonicalJson(manifest), blobs: { [sha256(configBytes)]: configBytes } }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^manifest digest: expected sha256:.*, sha256\(manifest\) = sha256:/),
        expect.stringMatching(/^config size: manifest says \d+, len\(config\) = \d+/),
        "config history has 0 non-empty-layer entries for 2 layers",
        expect.stringMatching(/^layer\[1\] size: manifest says \d+, len\(blob\) = \d+/),
        expect.stringMatching(/^layer\[1\] diffID: config says sha256:[a-f0-9]+, sha256\(gunzip\(blob\)\) = sha256:/),
      ]),
    );
  });

  it("catches a layer blob that does not match its digest, or is not gzip", async () => {
    const good = await image();
    const layer = good.layers[1]!;
    const problems = await validateImage(await source(good, { blobs: { [layer.digest]: Buffer.from("garbage") } }));
    expect(problems).toEqual([expect.stringMatching(/^layer\[1\] \(sha256:[a-f0-9]+\) cannot be read as tar\+gzip/)]);
  });
});
