import { createWriteStream } from "node:fs";
import { chmod, link, mkdir, readdir, rm, symlink, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract as tarExtract, type Header } from "tar-stream";
import { lstatOrUndefined, resolveWithin } from "./contain.js";
import { UnsafeLayerEntryError } from "../errors.js";
import { isGzipLayerMediaType, isUncompressedLayerMediaType } from "../oci/media-types.js";
import { drained } from "./streams.js";

/**
 * Extracts layers (gzip or plain tar) into a folder, in order, refusing anything that could write
 * outside it: absolute paths, `..`, symlinks or hard links that point out of the folder, writes
 * through a symlinked directory, device files and FIFOs. Whiteouts (`.wh.<name>`, and
 * `.wh..wh..opq` for opaque directories) remove what earlier layers put there. Ownership is not
 * applied (extraction runs unprivileged); setuid, setgid and sticky bits are dropped.
 */

export interface ExtractableLayer {
  open(): Readable;
  /** Used to pick gzip or plain tar (otherwise sniffed from the first bytes) and in error messages. */
  mediaType?: string;
  digest?: string;
}

export interface ExtractOptions {
  /**
   * Symlinks with absolute targets (`/usr/bin/node`): `reject` (default) — on the host they point
   * outside the folder — or `keep`, checked as if the folder were `/` (right for a root filesystem
   * that is only ever entered with chroot or run as a container).
   */
  absoluteSymlinks?: "reject" | "keep";
  signal?: AbortSignal;
}

export interface ExtractResult {
  entries: number;
  files: number;
  bytes: number;
  whiteouts: number;
}

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_WHITEOUT = ".wh..wh..opq";

class LayerExtraction {
  private readonly verifiedDirs = new Set<string>();
  private touched = new Set<string>();
  readonly result: ExtractResult = { entries: 0, files: 0, bytes: 0, whiteouts: 0 };

  constructor(
    private readonly root: string,
    private readonly options: ExtractOptions,
  ) {}

  private where = "";

  private refuse(name: string, why: string): never {
    throw new UnsafeLayerEntryError(`${this.where}entry ${JSON.stringify(name)} ${why}; nothing outside ${this.root} was written`, {
      hint: "the layer is malformed or malicious: do not use the image it came from",
    });
  }

  private abs(rel: string): string {
    return rel === "" ? this.root : join(this.root, ...rel.split("/"));
  }

  /** Entry name → `a/b` relative to the root; `""` for the root itself. */
  private relativeName(name: string): string {
    if (name.includes("\0")) this.refuse(name, "contains a NUL byte");
    if (name.startsWith("/")) this.refuse(name, "has an absolute path");
    const parts: string[] = [];
    for (const part of name.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") this.refuse(name, "contains '..'");
      parts.push(part);
    }
    return parts.join("/");
  }

  private forget(rel: string): void {
    for (const dir of this.verifiedDirs) {
      if (dir === rel || dir.startsWith(`${rel}/`)) this.verifiedDirs.delete(dir);
    }
  }

  private markTouched(rel: string): void {
    let at = rel;
    while (at !== "" && !this.touched.has(at)) {
      this.touched.add(at);
      const slash = at.lastIndexOf("/");
      at = slash === -1 ? "" : at.slice(0, slash);
    }
  }

  /** Makes every parent of `rel` a real directory; refuses to go through a symlink or a file. */
  private async ensureParents(name: string, rel: string): Promise<void> {
    const parts = rel.split("/");
    let current = "";
    for (let i = 0; i < parts.length - 1; i++) {
      current = current === "" ? parts[i]! : `${current}/${parts[i]}`;
      if (this.verifiedDirs.has(current)) continue;
      const info = await lstatOrUndefined(this.abs(current));
      if (info === undefined) {
        await mkdir(this.abs(current), { mode: 0o755 });
      } else if (info.isSymbolicLink()) {
        this.refuse(name, `would be written through the symlink ${JSON.stringify(current)}`);
      } else if (!info.isDirectory()) {
        this.refuse(name, `is inside ${JSON.stringify(current)}, which is not a directory`);
      }
      this.verifiedDirs.add(current);
    }
  }

  /** Removes whatever is at `rel` (a directory with its contents); symlinks are removed, never followed. */
  private async remove(rel: string): Promise<void> {
    await rm(this.abs(rel), { recursive: true, force: true });
    this.forget(rel);
  }

  async entry(header: Header, stream: Readable): Promise<void> {
    const name = header.name;
    const rel = this.relativeName(name);
    this.result.entries++;
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";

    if (base.startsWith(WHITEOUT_PREFIX)) {
      this.result.whiteouts++;
      await this.ensureParents(name, rel);
      if (base === OPAQUE_WHITEOUT) {
        for (const child of await readdir(this.abs(parent))) {
          const childRel = parent === "" ? child : `${parent}/${child}`;
          if (!this.touched.has(childRel)) await this.remove(childRel);
        }
      } else {
        const victim = base.slice(WHITEOUT_PREFIX.length);
        if (victim === "" || victim === "." || victim === "..") this.refuse(name, "is a whiteout for an invalid name");
        const victimRel = parent === "" ? victim : `${parent}/${victim}`;
        if (!this.touched.has(victimRel)) await this.remove(victimRel);
      }
      return;
    }

    switch (header.type) {
      case "directory": {
        if (rel === "") return; // the root itself: its mode and owner are the caller's business
        await this.ensureParents(name, rel);
        const existing = await lstatOrUndefined(this.abs(rel));
        if (existing !== undefined && !existing.isDirectory()) await this.remove(rel);
        if (existing === undefined || !existing.isDirectory()) await mkdir(this.abs(rel), { mode: 0o755 });
        // Owner rwx kept so later entries can be written into it without privileges.
        await chmod(this.abs(rel), (header.mode & 0o777) | 0o700);
        this.verifiedDirs.add(rel);
        break;
      }
      case "file":
      case "contiguous-file": {
        if (rel === "") this.refuse(name, "is a file at the root of the layer");
        await this.ensureParents(name, rel);
        await this.clear(rel);
        await pipeline(stream, createWriteStream(this.abs(rel), { flags: "wx", mode: 0o600 }));
        await chmod(this.abs(rel), header.mode & 0o777);
        this.result.files++;
        this.result.bytes += header.size;
        break;
      }
      case "symlink": {
        if (rel === "") this.refuse(name, "is a symlink at the root of the layer");
        const target = header.linkname;
        if (!target || target.includes("\0")) this.refuse(name, "is a symlink without a valid target");
        if (target.startsWith("/") && this.options.absoluteSymlinks !== "keep") {
          this.refuse(name, `is a symlink to the absolute path ${JSON.stringify(target)}, outside the target folder`);
        }
        await this.ensureParents(name, rel);
        const landing = await resolveWithin(this.root, parent === "" ? [] : parent.split("/"), target, {
          absolute: this.options.absoluteSymlinks === "keep" ? "root" : "escape",
        });
        if (landing === undefined) this.refuse(name, `is a symlink to ${JSON.stringify(target)}, which leads outside the target folder`);
        await this.clear(rel);
        await symlink(target, this.abs(rel));
        break;
      }
      case "link": {
        if (rel === "") this.refuse(name, "is a hard link at the root of the layer");
        const targetName = header.linkname;
        if (!targetName) this.refuse(name, "is a hard link without a target");
        if (targetName.startsWith("/")) this.refuse(name, `is a hard link to the absolute path ${JSON.stringify(targetName)}`);
        if (targetName.split("/").includes("..")) this.refuse(name, `is a hard link to ${JSON.stringify(targetName)}, outside the target folder`);
        const targetRel = this.relativeName(targetName);
        if (targetRel === "") this.refuse(name, "is a hard link to the root");
        await this.ensureParents(name, targetRel);
        const targetInfo = await lstatOrUndefined(this.abs(targetRel));
        if (targetInfo === undefined) this.refuse(name, `is a hard link to ${JSON.stringify(targetName)}, which does not exist`);
        if (!targetInfo.isFile()) this.refuse(name, `is a hard link to ${JSON.stringify(targetName)}, which is not a regular file`);
        await this.ensureParents(name, rel);
        await this.clear(rel);
        await link(this.abs(targetRel), this.abs(rel));
        break;
      }
      case "character-device":
      case "block-device":
        this.refuse(name, "is a device file (not extracted: it would need privileges and could expose host devices)");
        break;
      case "fifo":
        this.refuse(name, "is a FIFO (not supported)");
        break;
      default:
        this.refuse(name, `has an unsupported type ${JSON.stringify(header.type)}`);
    }
    this.markTouched(rel);
  }

  /** Removes a non-directory at `rel`, or a directory (with its contents) about to be replaced by a non-directory. */
  private async clear(rel: string): Promise<void> {
    const existing = await lstatOrUndefined(this.abs(rel));
    if (existing === undefined) return;
    if (existing.isDirectory()) await this.remove(rel);
    else await unlink(this.abs(rel));
  }

  async layer(layer: ExtractableLayer, index: number): Promise<void> {
    this.where = `layer ${index}${layer.digest ? ` (${layer.digest})` : ""}: `;
    this.touched = new Set();
    const extract = tarExtract();
    extract.on("error", () => undefined); // a failure surfaces through `feeding` / the entry loop
    const feeding = (async () => {
      for await (const chunk of tarBytes(layer)) {
        this.options.signal?.throwIfAborted();
        if (!extract.write(chunk)) await drained(extract, "the tar reader");
      }
      extract.end(undefined);
    })();
    feeding.catch((error: unknown) => extract.destroy(error instanceof Error ? error : new Error(String(error))));
    try {
      for await (const entry of extract) {
        const stream = Readable.from(entry as AsyncIterable<Buffer>, { objectMode: false });
        await this.entry(entry.header, stream);
        // Entries we do not read (directories, links) still need draining before the next one.
        for await (const _ of entry) void _;
      }
    } catch (error) {
      extract.destroy(error instanceof Error ? error : new Error(String(error)));
      await feeding.catch(() => undefined);
      throw error;
    }
    await feeding;
  }
}

/** The layer's tar bytes: gunzipped when its media type says gzip, or when it starts with the gzip magic. */
async function* tarBytes(layer: ExtractableLayer): AsyncGenerator<Buffer> {
  const iterator = (layer.open() as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    let head = Buffer.alloc(0);
    let ended = false;
    while (head.length < 2) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        break;
      }
      head = Buffer.concat([head, next.value]);
    }
    const gzip =
      layer.mediaType !== undefined && (isGzipLayerMediaType(layer.mediaType) || isUncompressedLayerMediaType(layer.mediaType))
        ? isGzipLayerMediaType(layer.mediaType)
        : head[0] === 0x1f && head[1] === 0x8b;
    const rest = async function* (): AsyncGenerator<Buffer> {
      if (head.length > 0) yield head;
      while (!ended) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    };
    if (!gzip) {
      yield* rest();
      return;
    }
    const gunzip = createGunzip();
    const piping = pipeline(Readable.from(rest(), { objectMode: false }), gunzip);
    piping.catch(() => undefined);
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
    await piping;
  } finally {
    // Stopped early (an unsafe entry, an abort): close the source instead of leaving it open.
    await iterator.return?.();
  }
}

/** Extracts `layers` into `targetDir` (created if missing), in order, as a container runtime would stack them. */
export async function extractLayers(
  layers: readonly ExtractableLayer[],
  targetDir: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const root = resolve(targetDir);
  await mkdir(root, { recursive: true });
  const extraction = new LayerExtraction(root, options);
  for (const [i, layer] of layers.entries()) await extraction.layer(layer, i);
  return extraction.result;
}
