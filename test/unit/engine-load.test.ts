import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { loadImage } from "../../src/engine/load.js";
import { ImageLoadError } from "../../src/errors.js";
import { assembleImage } from "../../src/image/image.js";
import { buildLayer } from "../../src/image/layer-writer.js";
import type { Layer } from "../../src/image/layer.js";
import { syntheticBase } from "./image/helpers.js";

describe("loadImage", () => {
  it("stops writing the archive, closing the layer streams, when the daemon refuses the image", async () => {
    const base = await syntheticBase();
    // Incompressible, so the archive is far larger than any stream buffer: the writer must wait for a reader.
    const app = await buildLayer([{ path: "app/blob.bin", type: "file", content: randomBytes(4 * 1024 * 1024) }], { mtime: 0 });
    const opened: Readable[] = [];
    const tracked = (layer: Layer): Layer => ({
      ...layer,
      open: () => {
        const stream = Readable.from(chunked(layer.open()), { objectMode: false });
        opened.push(stream);
        return stream;
      },
    });
    const image = assembleImage(base, { layers: [{ layer: app }] });
    const refusing = { loadImage: () => Promise.reject(new Error("no space left on device")) } as unknown as Docker;

    const error = await loadImage(refusing, { ...image, layers: image.layers.map(tracked) }, "flowpack/app:run").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageLoadError);
    expect((error as Error).message).toContain("the Docker daemon refused the image");
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((stream) => stream.destroyed)).toBe(true);
  });
});

/** The stream's bytes again, in 64 KiB pieces. */
async function* chunked(source: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of source as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; at += 65536) yield chunk.subarray(at, at + 65536);
  }
}
