import { createHash } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { Pack as TarPack } from "tar-stream";
import { ImageFormatError } from "../errors.js";
import { drained } from "./streams.js";
import { digestChecked } from "../_internal/digest-stream.js";
import { writeTar } from "./tar-output.js";
import type { Image } from "./image.js";
import type { Layer } from "./layer.js";
import { isGzipLayerMediaType, isUncompressedLayerMediaType } from "../oci/media-types.js";
import { familiarReference, parseReference } from "../oci/reference.js";

/**
 * `docker save` format (what `docker load` and skopeo's `docker-archive:` read), after
 * go-containerregistry's `v1/tarball`: `manifest.json` (Config, RepoTags, Layers), the config
 * blob and one file per layer. Entries are written in a fixed order with fixed metadata.
 */

export interface DockerArchiveOptions {
  /** Tags recorded for `docker load` (e.g. `flowpack/hello:dev`); written in Docker's short form. */
  repoTags?: string[];
  /**
   * `gzip` (default) stores the layer blobs as they are: `docker load` (1.10+) and skopeo
   * decompress them. `uncompressed` stores plain tars, as `docker save` does (slower: each layer is
   * decompressed twice, once to learn its size and check its diffID, once to write it).
   */
  layerFormat?: "gzip" | "uncompressed";
  signal?: AbortSignal;
}

export interface DockerArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

const hex = (digest: string) => digest.slice("sha256:".length);

function addBuffer(pack: TarPack, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    pack.entry({ name, size: bytes.length, mode: 0o644, mtime: new Date(0), type: "file" }, bytes, (error) =>
      error ? reject(error) : resolvePromise(),
    );
  });
}

async function addStream(pack: TarPack, name: string, size: number, source: AsyncIterable<Buffer>, what: string): Promise<void> {
  let sink: ReturnType<TarPack["entry"]> | undefined;
  const done = new Promise<void>((resolvePromise, reject) => {
    sink = pack.entry({ name, size, mode: 0o644, mtime: new Date(0), type: "file" }, (error) => (error ? reject(error) : resolvePromise()));
  });
  sink!.on("error", () => undefined); // reported through `done` and the throw below
  done.catch(() => undefined);
  let written = 0;
  try {
    for await (const chunk of source) {
      written += chunk.length;
      if (written > size) throw new ImageFormatError(`${what} is longer than its recorded ${size} bytes`);
      if (!sink!.write(chunk)) await Promise.race([drained(sink!, "the archive entry"), done]);
    }
    if (written !== size) throw new ImageFormatError(`${what} is ${written} bytes, not its recorded ${size}`);
    sink!.end(undefined);
    await done;
  } catch (error) {
    sink?.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

function gunzipped(layer: Layer): Readable {
  const raw = layer.open();
  const gunzip = createGunzip();
  pipeline(raw, gunzip).catch((error: unknown) => gunzip.destroy(error instanceof Error ? error : new Error(String(error))));
  return gunzip;
}

async function produceArchive(pack: TarPack, image: Image<Layer>, options: DockerArchiveOptions): Promise<DockerArchiveManifestEntry> {
  const format = options.layerFormat ?? "gzip";
  const configName = `${hex(image.configDigest)}.json`;
  await addBuffer(pack, configName, image.configBytes);
  const names: string[] = [];
  const written = new Set<string>();
  for (const [i, layer] of image.layers.entries()) {
    options.signal?.throwIfAborted();
    const what = `layer ${i} (${layer.digest})`;
    const mismatch = (kind: string, expected: string, actual: string) => {
      throw new ImageFormatError(`${what}: its ${kind} is ${actual}, not the recorded ${expected}`, {
        hint: "the layer's blob changed after it was built or downloaded: build or pull it again",
      });
    };
    const compressed = isGzipLayerMediaType(layer.mediaType);
    if (!compressed && !isUncompressedLayerMediaType(layer.mediaType)) {
      throw new ImageFormatError(`${what} has media type ${layer.mediaType}; docker archives hold tar or tar+gzip layers only`);
    }
    if (format === "gzip" || !compressed) {
      const name = compressed ? `${hex(layer.digest)}.tar.gz` : `${hex(layer.digest)}.tar`;
      names.push(name);
      if (written.has(name)) continue;
      written.add(name);
      const source = digestChecked(layer.open(), {
        atEnd: ({ digest, size }) => {
          if (digest !== layer.digest) mismatch("digest", layer.digest, digest);
          if (size !== layer.size) mismatch("size", String(layer.size), String(size));
        },
      });
      await addStream(pack, name, layer.size, source, what);
    } else {
      const name = `${hex(layer.diffId)}.tar`;
      names.push(name);
      if (written.has(name)) continue;
      written.add(name);
      // First pass: the tar's size (needed up front for the entry header), and its diffID checked.
      let uncompressedSize = 0;
      const hash = createHash("sha256");
      for await (const chunk of gunzipped(layer) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        uncompressedSize += chunk.length;
      }
      const diffId = `sha256:${hash.digest("hex")}`;
      if (diffId !== layer.diffId) mismatch("diffID", layer.diffId, diffId);
      const source = digestChecked(gunzipped(layer), {
        atEnd: ({ digest }) => {
          if (digest !== layer.diffId) mismatch("diffID", layer.diffId, digest);
        },
      });
      await addStream(pack, name, uncompressedSize, source, what);
    }
  }
  const entry: DockerArchiveManifestEntry = {
    Config: configName,
    RepoTags: (options.repoTags ?? []).map((tag) => familiarReference(parseReference(tag))),
    Layers: names,
  };
  await addBuffer(pack, "manifest.json", Buffer.from(JSON.stringify([entry]), "utf8"));
  pack.finalize();
  return entry;
}

/**
 * Writes `image` as a `docker save`-style tarball to a file (atomically: temp file, then rename)
 * or into a writable stream. Layer bytes are checked against their digests on the way.
 */
export async function writeDockerArchive(
  image: Image<Layer>,
  output: string | Writable,
  options: DockerArchiveOptions = {},
): Promise<DockerArchiveManifestEntry> {
  if (image.layers.length !== image.config.rootfs.diff_ids.length) {
    throw new ImageFormatError(`image has ${image.layers.length} layers but its config lists ${image.config.rootfs.diff_ids.length} diff_ids`);
  }
  for (const tag of options.repoTags ?? []) {
    const ref = parseReference(tag, { defaultTag: null });
    if (ref.tag === undefined || ref.digest !== undefined) {
      throw new ImageFormatError(`repo tag ${JSON.stringify(tag)} must be name:tag (docker load records tags, not digests)`);
    }
  }
  return writeTar((pack) => produceArchive(pack, image, options), {
    ...(typeof output === "string" ? { file: output } : { sink: output }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
