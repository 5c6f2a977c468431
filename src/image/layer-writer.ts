import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { constants as zlibConstants, createGzip, type Gzip } from "node:zlib";
import type { Header, Pack as TarPack } from "tar-stream";
import type { Sha256Digest } from "../oci/digest.js";
import { LayerError } from "../errors.js";
import { drained } from "./streams.js";
import { writeTar } from "./tar-output.js";
import { isGzipLayerMediaType, MediaType } from "../oci/media-types.js";
import type { BuildLayerOptions, BuiltLayer, LayerEntry, Owner } from "./layer.js";
import { planEntries, type PlannedEntry } from "./layer-entries.js";

/**
 * `buildLayer` writes a deterministic tar (sorted entries, implicit parents, fixed mtime, uid/gid
 * as given, no user or group names), gzips it with fixed settings and a normalised gzip header,
 * and hashes both sides in the same streaming pass.
 */

export const DEFAULT_COMPRESSION_LEVEL = 6;
const GZIP_OS_UNIX = 3;
const GZIP_BLOCK = 64 * 1024;

/** `SOURCE_DATE_EPOCH` (reproducible-builds.org) as seconds, or 0 when unset. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return 0;
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new LayerError(`SOURCE_DATE_EPOCH=${JSON.stringify(raw)} is not a non-negative integer number of seconds`, {
      hint: "set it to e.g. $(git log -1 --format=%ct), or unset it",
    });
  }
  return Number(raw);
}

/** The mtime (seconds) a layer is built with: `mtime` as given, else `SOURCE_DATE_EPOCH`, else 0. */
export function resolveMtime(mtime: number | Date | undefined): number {
  if (mtime === undefined) return sourceDateEpoch();
  const seconds = mtime instanceof Date ? Math.floor(mtime.getTime() / 1000) : mtime;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0o77777777777) {
    throw new LayerError(`option mtime must be a non-negative whole number of seconds (got ${String(mtime)})`);
  }
  return seconds;
}

type TarHeader = Partial<Header> & Pick<Header, "name">;

function tarHeader(entry: PlannedEntry, mtime: Date, size: number): TarHeader {
  const header: TarHeader = {
    // Directories end in "/" as in every common tar writer (tar-stream would not add it).
    name: entry.type === "dir" ? `${entry.path}/` : entry.path,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime,
    size,
    type: entry.type === "dir" ? "directory" : entry.type,
  };
  if (entry.linkTarget !== undefined) header.linkname = entry.linkTarget;
  return header;
}

function addEntry(pack: TarPack, header: TarHeader, buffer?: Buffer): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const callback = (error?: Error | null) => (error ? reject(error) : resolvePromise());
    if (buffer === undefined) pack.entry(header, callback);
    else pack.entry(header, buffer, callback);
  });
}

async function addFileEntry(pack: TarPack, header: TarHeader, file: string, size: number, signal?: AbortSignal): Promise<void> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    throw new LayerError(`layer entry ${JSON.stringify(header.name)}: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let sinkDone: Promise<void> | undefined;
  let sink: ReturnType<TarPack["entry"]> | undefined;
  try {
    sinkDone = new Promise<void>((resolvePromise, reject) => {
      sink = pack.entry(header, (error) => (error ? reject(error) : resolvePromise()));
    });
    sinkDone.catch(() => undefined);
    sink!.on("error", () => undefined); // reported through `sinkDone` and the throw below
    const changed = (read: number) => changedWhileBuilding(header.name, file, size, read);
    let read = 0;
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      read += chunk.length;
      if (read > size) throw changed(read);
      if (!sink!.write(chunk)) await drained(sink!, "the layer's tar stream");
    }
    if (read !== size) throw changed(read);
    sink!.end(undefined);
    await sinkDone;
  } catch (error) {
    sink?.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Files up to this size are read whole with one synchronous call: for the many small files of a
 * node_modules tree that is ~5x faster than a thread-pool round trip per file, and blocks the event
 * loop for well under a millisecond each. Larger files are streamed.
 */
const WHOLE_FILE_MAX = 1024 * 1024;

function changedWhileBuilding(path: string, file: string, expected: number, read: number): LayerError {
  return new LayerError(
    `layer entry ${JSON.stringify(path)}: ${file} changed while the layer was built (expected ${expected} bytes, found ${read > expected ? "more" : read})`,
    { hint: "build the layer again once nothing is writing to the folder" },
  );
}

function readWholeFile(path: string, file: string, size: number): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new LayerError(`layer entry ${JSON.stringify(path)}: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (bytes.length !== size) throw changedWhileBuilding(path, file, size, bytes.length);
  return bytes;
}

async function produceTar(pack: TarPack, plan: PlannedEntry[], mtime: Date, signal?: AbortSignal): Promise<void> {
  for (const entry of plan) {
    signal?.throwIfAborted();
    const content = entry.content;
    if (entry.type !== "file" || content === undefined) {
      await addEntry(pack, tarHeader(entry, mtime, 0));
    } else if (content instanceof Uint8Array) {
      const buffer = Buffer.isBuffer(content) ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
      await addEntry(pack, tarHeader(entry, mtime, buffer.length), buffer);
    } else if (content.size <= WHOLE_FILE_MAX) {
      const buffer = readWholeFile(entry.path, content.fromFile, content.size);
      await addEntry(pack, tarHeader(entry, mtime, buffer.length), buffer);
    } else {
      await addFileEntry(pack, tarHeader(entry, mtime, content.size), content.fromFile, content.size, signal);
    }
  }
  pack.finalize();
}

/**
 * gzip whose output depends only on the bytes that go in (and the level and zlib build), never on
 * how they were chunked or on stream timing: input is cut into fixed blocks, each written to zlib
 * only after the previous one was consumed, and the stream is finished with an empty Z_FINISH.
 * The member header is pinned: MTIME 0, no name, OS 3 (Unix) whatever the host (zlib writes 19 on
 * macOS, 10 on Windows); XFL follows the level. FHCRC is never set, so patching it is safe.
 * Both sides are hashed on the way through.
 */
class DeterministicGzip extends Transform {
  readonly uncompressedHash = createHash("sha256");
  readonly compressedHash = createHash("sha256");
  uncompressedBytes = 0;
  compressedBytes = 0;
  private readonly zlib: Gzip;
  private block = Buffer.allocUnsafe(GZIP_BLOCK);
  private filled = 0;
  private failure: Error | undefined;

  constructor(level: number) {
    super();
    this.zlib = createGzip({
      level,
      memLevel: 8,
      windowBits: 15,
      strategy: zlibConstants.Z_DEFAULT_STRATEGY,
      chunkSize: GZIP_BLOCK,
    });
    this.zlib.on("data", (chunk: Buffer) => this.emitCompressed(chunk));
    this.zlib.on("error", (error: Error) => {
      this.failure = error;
    });
  }

  private emitCompressed(chunk: Buffer): void {
    let out = chunk;
    if (this.compressedBytes < 10) {
      out = Buffer.from(chunk);
      for (let i = 0; i < out.length && this.compressedBytes + i < 10; i++) {
        const at = this.compressedBytes + i;
        if (at >= 4 && at <= 7) out[i] = 0;
        if (at === 9) out[i] = GZIP_OS_UNIX;
        if (at === 3 && out[i] !== 0) this.failure = new Error("zlib wrote gzip header flags; expected none");
      }
    }
    this.compressedHash.update(out);
    this.compressedBytes += out.length;
    this.push(out);
  }

  private writeBlock(block: Buffer): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      this.zlib.write(block, (error) => {
        const failure = error ?? this.failure;
        if (failure) reject(failure);
        else resolvePromise();
      });
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.uncompressedHash.update(chunk);
    this.uncompressedBytes += chunk.length;
    const blocks: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(GZIP_BLOCK - this.filled, chunk.length - offset);
      chunk.copy(this.block, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === GZIP_BLOCK) {
        blocks.push(this.block);
        this.block = Buffer.allocUnsafe(GZIP_BLOCK);
        this.filled = 0;
      }
    }
    blocks
      .reduce((previous, block) => previous.then(() => this.writeBlock(block)), Promise.resolve())
      .then(() => callback(), (error: Error) => callback(error));
  }

  override _flush(callback: (error?: Error | null) => void): void {
    const last = this.filled > 0 ? this.writeBlock(this.block.subarray(0, this.filled)) : Promise.resolve();
    last
      .then(
        () =>
          new Promise<void>((resolvePromise, reject) => {
            this.zlib.once("end", () => (this.failure ? reject(this.failure) : resolvePromise()));
            this.zlib.once("error", reject);
            this.zlib.end();
          }),
      )
      .then(() => callback(), (error: Error) => callback(error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.zlib.destroy();
    callback(error);
  }
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    callback();
  }
}

/** The options that shape a layer's bytes, defaults applied and checked: what identifies a build besides its entries. */
export function resolveBuildOptions(options: BuildLayerOptions): { mtime: number; compressionLevel: number; mediaType: string; parentOwner: Owner } {
  const level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new LayerError(`option compressionLevel must be an integer from 0 to 9 (got ${String(level)})`);
  }
  const mediaType = options.mediaType ?? MediaType.OCI_LAYER_GZIP;
  if (!isGzipLayerMediaType(mediaType)) {
    throw new LayerError(`option mediaType must be a gzip layer media type (got ${JSON.stringify(mediaType)})`);
  }
  return { mtime: resolveMtime(options.mtime), compressionLevel: level, mediaType, parentOwner: options.parentOwner ?? { uid: 0, gid: 0 } };
}

/** Builds a layer from entries. Same entries + same options → byte-identical blob, same digest and diffID. */
export async function buildLayer(entries: Iterable<LayerEntry>, options: BuildLayerOptions = {}): Promise<BuiltLayer> {
  const { mtime: seconds, compressionLevel: level, mediaType, parentOwner } = resolveBuildOptions(options);
  const mtime = new Date(seconds * 1000);
  const plan = planEntries(entries, parentOwner);
  options.signal?.throwIfAborted();

  const gzip = new DeterministicGzip(level);
  const target = options.output?.file === undefined ? undefined : resolve(options.output.file);
  const collector = target === undefined ? new Collector() : undefined;
  await writeTar((pack) => produceTar(pack, plan, mtime, options.signal), {
    ...(target !== undefined ? { file: target } : { sink: collector }),
    through: [gzip],
    ...(options.signal ? { signal: options.signal } : {}),
  });

  const info = {
    digest: `sha256:${gzip.compressedHash.digest("hex")}` as Sha256Digest,
    diffId: `sha256:${gzip.uncompressedHash.digest("hex")}` as Sha256Digest,
    size: gzip.compressedBytes,
    mediaType,
    uncompressedSize: gzip.uncompressedBytes,
    entryCount: plan.length,
  };
  if (target !== undefined) return { ...info, path: target, open: () => createReadStream(target) };
  const bytes = Buffer.concat(collector!.chunks);
  return { ...info, path: undefined, open: () => Readable.from([bytes], { objectMode: false }) };
}

