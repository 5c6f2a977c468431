import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Sha256Digest } from "../oci/digest.js";
import { isGzipLayerMediaType, MediaType } from "../oci/media-types.js";

/**
 * Layers, after go-containerregistry's tiny interface: a digest (of the compressed blob), a diffID
 * (of the uncompressed tar), a size, a media type, and a way to read the compressed bytes again.
 * This file holds the model and layers made from existing blobs; building a layer from entries is
 * layer-writer.ts, checking entries layer-entries.ts, walking a folder into entries
 * layer-directory.ts.
 */

export interface LayerInfo {
  /** sha256 of the blob as stored and transferred (compressed). */
  readonly digest: Sha256Digest;
  /** sha256 of the uncompressed tar (goes into the config's rootfs.diff_ids). */
  readonly diffId: Sha256Digest;
  /** Blob size in bytes. */
  readonly size: number;
  readonly mediaType: string;
}

export interface Layer extends LayerInfo {
  /** A fresh stream of the blob's bytes on every call (so an interrupted upload can start over). */
  open(): Readable;
}

export interface BuiltLayer extends Layer {
  /** Size of the uncompressed tar. */
  readonly uncompressedSize: number;
  /** Number of tar entries, implicit parent directories included. */
  readonly entryCount: number;
  /** The blob's file, when built with `output: { file }`. */
  readonly path: string | undefined;
}

export interface Owner {
  uid: number;
  gid: number;
}

export type LayerEntryContent = Uint8Array | string | { fromFile: string; size: number };

export interface LayerEntry {
  /** POSIX path inside the image; `/app/x.js`, `app/x.js` and `./app/x.js` are the same. `..` is refused. */
  path: string;
  type: "file" | "dir" | "symlink";
  /** Permission bits (default 0644 files, 0755 directories, 0777 symlinks). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** File content (files only; default empty). `fromFile` is streamed, and must still have `size` bytes. */
  content?: LayerEntryContent;
  /** sha256 of an in-memory `content`, when the caller already knows it (keys then need not hash megabytes again). */
  contentDigest?: Sha256Digest;
  /** Symlink target, written as given. */
  linkTarget?: string;
}

export interface BuildLayerOptions {
  /** Modification time of every entry, in seconds since the epoch (or a Date). Default: `SOURCE_DATE_EPOCH`, else 0. */
  mtime?: number | Date;
  /** Owner of directories created implicitly for an entry's parents (default 0:0). */
  parentOwner?: Owner;
  /** gzip level 0-9 (default 6). The level is part of the layer's identity: it changes the digest, never the diffID. */
  compressionLevel?: number;
  /** Default `application/vnd.oci.image.layer.v1.tar+gzip`. Must be a gzip layer type. */
  mediaType?: string;
  /** Write the blob to this file (streaming, bounded memory) instead of keeping it in memory. */
  output?: { file: string };
  signal?: AbortSignal;
}

// ── layers from existing blobs ──────────────────────────────────────────────

/** A layer whose blob is the file at `path`; `info` is trusted (validate-image checks it). */
export function fileLayer(path: string, info: LayerInfo): Layer {
  const absolute = resolve(path);
  return {
    digest: info.digest,
    diffId: info.diffId,
    size: info.size,
    mediaType: info.mediaType,
    open: () => createReadStream(absolute),
  };
}

/**
 * A layer from blob bytes in memory (gzip or plain tar, by media type). Digest, diffID and size are
 * computed from the bytes.
 */
export async function bufferLayer(blob: Uint8Array, mediaType: string = MediaType.OCI_LAYER_GZIP): Promise<Layer> {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Sha256Digest;
  let diffId = digest;
  if (isGzipLayerMediaType(mediaType)) {
    const hash = createHash("sha256");
    for await (const chunk of Readable.from([bytes], { objectMode: false }).pipe(createGunzip())) hash.update(chunk as Buffer);
    diffId = `sha256:${hash.digest("hex")}` as Sha256Digest;
  }
  return { digest, diffId, size: bytes.length, mediaType, open: () => Readable.from([bytes], { objectMode: false }) };
}

