import { createHash } from "node:crypto";
import { createReadStream, lstatSync, readdirSync, readFileSync, type Stats } from "node:fs";
import { open, readlink, realpath, stat } from "node:fs/promises";
import { join, relative as relativeNative, resolve, sep } from "node:path";
import { posix } from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { constants as zlibConstants, createGunzip, createGzip, type Gzip } from "node:zlib";
import type { Header, Pack as TarPack } from "tar-stream";
import type { Sha256Digest } from "../_internal/digest.js";
import { resolveWithin, staysInside } from "./contain.js";
import { LayerError } from "../errors.js";
import { drained } from "./streams.js";
import { writeTar } from "./tar-output.js";
import { compareCodePoints, isGzipLayerMediaType, MediaType } from "./oci.js";

/**
 * Layers, after go-containerregistry's tiny interface: a digest (of the compressed blob), a diffID
 * (of the uncompressed tar), a size, a media type, and a way to read the compressed bytes again.
 *
 * `buildLayer` writes a deterministic tar (sorted entries, implicit parents, fixed mtime, uid/gid
 * as given, no user or group names), gzips it with fixed settings and a normalised gzip header,
 * and hashes both sides in the same streaming pass.
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

export const DEFAULT_COMPRESSION_LEVEL = 6;
const MAX_ID = 0o777777; // what a ustar header's 6 octal digits hold
const GZIP_OS_UNIX = 3;
const GZIP_BLOCK = 64 * 1024;

// ── helpers: epoch, paths ───────────────────────────────────────────────────

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

/**
 * Normalises an entry path to `a/b` form: leading `/` and `./`, doubled and trailing slashes go;
 * `..` components, NUL bytes and the root itself are refused.
 */
export function normaliseEntryPath(path: string): string {
  if (typeof path !== "string" || path.length === 0) throw new LayerError(`layer entry path ${JSON.stringify(path)} is empty`);
  if (path.includes("\0")) throw new LayerError(`layer entry path ${JSON.stringify(path)} contains a NUL byte`);
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new LayerError(`layer entry path ${JSON.stringify(path)} contains '..'`, {
        hint: "entry paths are relative to the image root and may not climb out of it",
      });
    }
    parts.push(part);
  }
  if (parts.length === 0) throw new LayerError(`layer entry path ${JSON.stringify(path)} is the root directory`);
  return parts.join("/");
}

// ── planning: validate, add parents, sort ───────────────────────────────────

interface PlannedEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  content: Uint8Array | { fromFile: string; size: number } | undefined;
  linkTarget: string | undefined;
}

function checkId(value: number | undefined, what: string, path: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new LayerError(`layer entry ${JSON.stringify(path)}: ${what} must be an integer from 0 to ${MAX_ID} (got ${String(value)})`);
  }
  return value;
}

function planEntry(entry: LayerEntry): PlannedEntry {
  const path = normaliseEntryPath(entry.path);
  const where = `layer entry ${JSON.stringify(path)}`;
  if (entry.type !== "file" && entry.type !== "dir" && entry.type !== "symlink") {
    throw new LayerError(`${where}: type must be "file", "dir" or "symlink" (got ${JSON.stringify(entry.type)})`);
  }
  const defaultMode = entry.type === "dir" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644;
  const mode = entry.mode ?? defaultMode;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new LayerError(`${where}: mode must be permission bits from 0 to 0o7777 (got ${String(entry.mode)})`);
  }
  const planned: PlannedEntry = {
    path,
    type: entry.type,
    mode,
    uid: checkId(entry.uid, "uid", path),
    gid: checkId(entry.gid, "gid", path),
    content: undefined,
    linkTarget: undefined,
  };
  if (entry.type === "file") {
    const content = entry.content ?? new Uint8Array(0);
    if (typeof content === "string") planned.content = Buffer.from(content, "utf8");
    else if (content instanceof Uint8Array) planned.content = content;
    else if (content && typeof content === "object" && typeof content.fromFile === "string") {
      if (!Number.isSafeInteger(content.size) || content.size < 0) {
        throw new LayerError(`${where}: content.size must be the file's size in bytes (got ${String(content.size)})`);
      }
      planned.content = { fromFile: content.fromFile, size: content.size };
    } else {
      throw new LayerError(`${where}: content must be a Buffer, a string or { fromFile, size }`);
    }
    if (entry.linkTarget !== undefined) throw new LayerError(`${where}: only symlinks have a linkTarget`);
  } else {
    if (entry.content !== undefined) throw new LayerError(`${where}: only files have content`);
    if (entry.type === "symlink") {
      if (typeof entry.linkTarget !== "string" || entry.linkTarget.length === 0 || entry.linkTarget.includes("\0")) {
        throw new LayerError(`${where}: a symlink needs a non-empty linkTarget without NUL bytes`);
      }
      planned.linkTarget = entry.linkTarget;
    } else if (entry.linkTarget !== undefined) {
      throw new LayerError(`${where}: only symlinks have a linkTarget`);
    }
  }
  return planned;
}

/** Validated, de-duplicated entries with every parent directory present, in code-point order of path. */
function planEntries(entries: Iterable<LayerEntry>, parentOwner: Owner): PlannedEntry[] {
  const byPath = new Map<string, PlannedEntry>();
  for (const entry of entries) {
    const planned = planEntry(entry);
    if (byPath.has(planned.path)) {
      throw new LayerError(`layer entry ${JSON.stringify(planned.path)} appears twice`, {
        hint: "each path may occur once in a layer",
      });
    }
    byPath.set(planned.path, planned);
  }
  const owner = { uid: checkId(parentOwner.uid, "parentOwner.uid", "(parents)"), gid: checkId(parentOwner.gid, "parentOwner.gid", "(parents)") };
  for (const planned of [...byPath.values()]) {
    let slash = planned.path.indexOf("/");
    while (slash !== -1) {
      const parent = planned.path.slice(0, slash);
      const existing = byPath.get(parent);
      if (existing === undefined) {
        byPath.set(parent, { path: parent, type: "dir", mode: 0o755, ...owner, content: undefined, linkTarget: undefined });
      } else if (existing.type !== "dir") {
        throw new LayerError(
          `layer entry ${JSON.stringify(planned.path)} is inside ${JSON.stringify(parent)}, which is a ${existing.type}, not a directory`,
        );
      }
      slash = planned.path.indexOf("/", slash + 1);
    }
  }
  return [...byPath.values()].sort((a, b) => compareCodePoints(a.path, b.path));
}

// ── writing ─────────────────────────────────────────────────────────────────

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

// ── layers from a folder ────────────────────────────────────────────────────

export interface DirectoryLayerOptions extends BuildLayerOptions {
  /** Where the folder's contents land in the image (default `/`). The prefix directory itself is an entry too. */
  prefix?: string;
  /** Owner of every entry from the folder (default 0:0). Implicit parents of `prefix` use `parentOwner`. */
  owner?: Owner;
  /**
   * Return false to leave a path out (a directory: with everything below it). `relativePath` is
   * POSIX, relative to the folder, e.g. `.bin/tsc` or `lodash/package.json`.
   */
  filter?: (relativePath: string, stats: Stats) => boolean;
}

export interface DirectoryLayer extends BuiltLayer {
  /** Regular files taken from the folder, and their total size in bytes. */
  readonly fileCount: number;
  readonly fileBytes: number;
}

/**
 * Walks `dir` into layer entries: regular files (mode 0755 when any execute bit is set, else 0644),
 * directories (0755) and symlinks whose target stays inside `dir` (absolute targets inside `dir` are
 * rewritten as relative ones). The source's mtimes, owners and umask never reach the layer.
 * Sockets, FIFOs, devices and symlinks leaving the folder are refused, naming the path.
 */
export async function directoryEntries(
  dir: string,
  options: Pick<DirectoryLayerOptions, "prefix" | "owner" | "filter"> = {},
): Promise<{ entries: LayerEntry[]; fileCount: number; fileBytes: number }> {
  const root = resolve(dir);
  let rootInfo: Stats;
  try {
    rootInfo = await stat(root);
  } catch (error) {
    throw new LayerError(`cannot read folder ${root}: ${(error as Error).message}`, { cause: error });
  }
  if (!rootInfo.isDirectory()) throw new LayerError(`${root} is not a folder`);
  const realRoot = await realpath(root);
  const prefix = options.prefix === undefined || posix.normalize(`/${options.prefix}`) === "/" ? "" : normaliseEntryPath(options.prefix);
  const owner = options.owner ?? { uid: 0, gid: 0 };
  const entries: LayerEntry[] = [];
  let fileCount = 0;
  let fileBytes = 0;
  const inImage = (rel: string) => (prefix === "" ? rel : `${prefix}/${rel}`);
  if (prefix !== "") entries.push({ path: prefix, type: "dir", mode: 0o755, ...owner });

  const walk = async (relDir: string): Promise<void> => {
    const absDir = relDir === "" ? root : join(root, ...relDir.split("/"));
    // Synchronous listing: one call per directory instead of a thread-pool round trip per file.
    const names = readdirSync(absDir).sort(compareCodePoints);
    const infos = names.map((name) => lstatSync(join(absDir, name)));
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const info = infos[i]!;
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      if (options.filter && !options.filter(rel, info)) continue;
      const abs = join(absDir, name);
      if (info.isDirectory()) {
        entries.push({ path: inImage(rel), type: "dir", mode: 0o755, ...owner });
        await walk(rel);
      } else if (info.isFile()) {
        entries.push({
          path: inImage(rel),
          type: "file",
          mode: (info.mode & 0o111) !== 0 ? 0o755 : 0o644,
          ...owner,
          content: { fromFile: abs, size: info.size },
        });
        fileCount++;
        fileBytes += info.size;
      } else if (info.isSymbolicLink()) {
        const linkTarget = await symlinkTargetInside(root, realRoot, rel, abs);
        entries.push({ path: inImage(rel), type: "symlink", mode: 0o777, ...owner, linkTarget });
      } else {
        throw new LayerError(`${abs} is a socket, FIFO or device file; layers built from a folder hold only files, folders and symlinks`, {
          hint: "remove it, or leave it out with the filter option",
        });
      }
    }
  };
  await walk("");
  return { entries, fileCount, fileBytes };
}

async function symlinkTargetInside(root: string, realRoot: string, rel: string, abs: string): Promise<string> {
  const target = await readlink(abs);
  const refuse = (why: string) =>
    new LayerError(`symlink ${JSON.stringify(rel)} in ${root} points to ${JSON.stringify(target)}, ${why}`, {
      hint: "symlinks in a layer built from a folder must stay inside it: copy the target in, or leave the link out with the filter option",
    });
  let linkTarget = target;
  if (posix.isAbsolute(target) || /^[a-zA-Z]:[\\/]/.test(target)) {
    // An absolute host path is meaningless in the image; keep it only if it names something in the folder.
    const inside = relativeNative(root, resolve(target));
    const insideReal = relativeNative(realRoot, resolve(target));
    const relToRoot = staysInside(inside.split(sep).join("/")) ? inside : staysInside(insideReal.split(sep).join("/")) ? insideReal : undefined;
    if (relToRoot === undefined) throw refuse("outside the folder");
    linkTarget = posix.relative(posix.dirname(`/${rel}`), `/${relToRoot.split(sep).join("/")}`) || ".";
  }
  const lexical = posix.normalize(posix.join(posix.dirname(rel), linkTarget));
  if (!staysInside(lexical)) throw refuse("outside the folder");
  // Through other symlinks a target can leave the folder although its text stays inside: follow it step by step.
  const from = posix.dirname(rel) === "." ? [] : posix.dirname(rel).split("/");
  if ((await resolveWithin(root, from, linkTarget, { absolute: "escape" })) === undefined) {
    throw refuse("which leads outside the folder through another symlink");
  }
  return linkTarget;
}

/** A layer holding the folder `dir` at `prefix`: deterministic whatever the folder's mtimes, umask or listing order. */
export async function layerFromDirectory(dir: string, options: DirectoryLayerOptions = {}): Promise<DirectoryLayer> {
  const { entries, fileCount, fileBytes } = await directoryEntries(dir, options);
  const layer = await buildLayer(entries, options);
  return { ...layer, fileCount, fileBytes };
}
