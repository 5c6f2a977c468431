import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isSha256Digest, type Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { digestChecked, DigestCheckStream, type ActualContent } from "../_internal/digest-stream.js";
import { writeFileAtomic } from "../_internal/fs.js";
import { ImageLayoutError } from "../errors.js";
import { imageFromParts, type Image } from "./image.js";
import { fileLayer, type Layer } from "./layer.js";
import { canonicalJson, parseImageConfig, parseImageIndex, parseImageManifest, type Descriptor, type ImageIndex, type Platform } from "../oci/image.js";
import { checkConfigPlatform, formatPlatform, hostPlatform, platformMatches } from "../oci/platform.js";
import { isImageIndexMediaType, isImageManifestMediaType, MediaType } from "../oci/media-types.js";

/**
 * OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), after
 * go-containerregistry's `v1/layout`. Blobs are written atomically (temp file, verified digest,
 * rename) and never rewritten; `index.json` is replaced atomically. Several images share one
 * layout, told apart by their `org.opencontainers.image.ref.name` annotation.
 *
 * One writer per layout at a time: concurrent writers may each drop the other's index entry.
 */

export const OCI_LAYOUT_FILE = "oci-layout";
export const OCI_LAYOUT_VERSION = "1.0.0";
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

/** The OCI spec's grammar for ref names: components of alphanumerics joined by `-._:@+` or `--`, separated by `/`. */
const REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export function blobPath(layoutDir: string, digest: string): string {
  if (!isSha256Digest(digest)) throw new ImageLayoutError(`invalid blob digest ${JSON.stringify(digest)} (expected sha256:<64 hex>)`);
  return join(resolve(layoutDir), "blobs", "sha256", digest.slice("sha256:".length));
}

/** Creates the layout (or checks an existing one): `oci-layout`, an empty `index.json`, `blobs/sha256/`. */
export async function initLayout(layoutDir: string): Promise<void> {
  const dir = resolve(layoutDir);
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const marker = join(dir, OCI_LAYOUT_FILE);
  let existing: string | undefined;
  try {
    existing = await readFile(marker, "utf8");
  } catch {
    existing = undefined;
  }
  if (existing === undefined) {
    await writeFileAtomic(marker, canonicalJson({ imageLayoutVersion: OCI_LAYOUT_VERSION }));
  } else {
    checkLayoutMarker(dir, existing);
  }
  try {
    await stat(join(dir, "index.json"));
  } catch {
    await writeFileAtomic(join(dir, "index.json"), canonicalJson({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] }));
  }
}

function checkLayoutMarker(dir: string, text: string): void {
  let version: unknown;
  try {
    version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (typeof version !== "string" || !version.startsWith("1.")) {
    throw new ImageLayoutError(`${join(dir, OCI_LAYOUT_FILE)} does not declare a supported imageLayoutVersion (1.x)`);
  }
}

/** Whether the blob file is there (and, when `size` is given, whole). */
async function blobExists(path: string, size?: number): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && (size === undefined || info.size === size);
  } catch {
    return false;
  }
}

/** Writes bytes as a blob (skipped when already present; `written` says which). */
export async function writeBlob(layoutDir: string, bytes: Uint8Array): Promise<{ digest: Sha256Digest; size: number; written: boolean }> {
  const digest = sha256(bytes);
  const path = blobPath(layoutDir, digest);
  const written = !(await blobExists(path, bytes.length));
  if (written) {
    await mkdir(join(resolve(layoutDir), "blobs", "sha256"), { recursive: true });
    await writeFileAtomic(path, bytes);
  }
  return { digest, size: bytes.length, written };
}

/**
 * Streams a blob into the layout, checking it hashes to `expected.digest` and has `expected.size`
 * bytes before it becomes visible. Skipped when a blob of that digest and size is already there
 * (then false is returned).
 */
export async function writeBlobStream(
  layoutDir: string,
  open: () => Readable,
  expected: { digest: string; size: number },
): Promise<boolean> {
  const path = blobPath(layoutDir, expected.digest);
  if (await blobExists(path, expected.size)) return false;
  await mkdir(join(resolve(layoutDir), "blobs", "sha256"), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const checked = new DigestCheckStream({
      atEnd: ({ digest, size }) => {
        if (digest === expected.digest && size === expected.size) return undefined;
        return new ImageLayoutError(
          `blob ${expected.digest} (${expected.size} bytes) read back as ${digest} (${size} bytes); not written to ${layoutDir}`,
          { hint: "the layer's source changed after it was built: build it again" },
        );
      },
    });
    await pipeline(open(), checked, createWriteStream(temporary, { flags: "wx", mode: 0o644 }));
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return true;
}

export interface WriteLayoutOptions {
  /** Stored as `org.opencontainers.image.ref.name` (e.g. a tag `dev` or `flowpack/app:dev`). An existing entry with the same name is replaced. */
  refName?: string;
  /** Extra annotations for the index entry. */
  annotations?: Record<string, string>;
}

/**
 * Writes an image (layers, config, manifest) into the layout and adds it to `index.json`, with the
 * image's platform and its ref name. Returns the index descriptor. On failure (a full disk) what
 * this call added is removed again: the folders it created, else the blobs it wrote (and the
 * layout files, when the folder was not a layout before); index.json is written last.
 */
export async function writeImageToLayout(layoutDir: string, image: Image<Layer>, options: WriteLayoutOptions = {}): Promise<Descriptor> {
  const dir = resolve(layoutDir);
  if (options.refName !== undefined && !REF_NAME.test(options.refName)) {
    throw new ImageLayoutError(
      `ref name ${JSON.stringify(options.refName)} does not match the OCI grammar (alphanumeric components joined by - . _ : @ + or --, separated by /)`,
    );
  }
  if (image.layers.length !== image.manifest.layers.length) {
    throw new ImageLayoutError(`image has ${image.layers.length} layers but its manifest lists ${image.manifest.layers.length}`);
  }
  const hadMarker = await blobExists(join(dir, OCI_LAYOUT_FILE));
  const createdTop = await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const written: string[] = [];
  try {
    return await writeImage(dir, image, options, written);
  } catch (error) {
    if (createdTop !== undefined && (createdTop === dir || !createdTop.startsWith(`${dir}/`))) {
      await rm(createdTop, { recursive: true, force: true });
    } else {
      for (const path of written) await rm(path, { force: true });
      if (!hadMarker) {
        for (const name of [OCI_LAYOUT_FILE, "index.json"]) await rm(join(dir, name), { force: true });
        if (createdTop !== undefined) await rm(createdTop, { recursive: true, force: true });
      }
    }
    throw error;
  }
}

async function writeImage(dir: string, image: Image<Layer>, options: WriteLayoutOptions, written: string[]): Promise<Descriptor> {
  await initLayout(dir);
  for (const [i, layer] of image.layers.entries()) {
    const described = image.manifest.layers[i]!;
    if (described.digest !== layer.digest || described.size !== layer.size) {
      throw new ImageLayoutError(`layer ${i} is ${layer.digest} (${layer.size} bytes) but the manifest says ${described.digest} (${described.size} bytes)`);
    }
    if (await writeBlobStream(dir, () => layer.open(), layer)) written.push(blobPath(dir, layer.digest));
  }
  for (const bytes of [image.configBytes, image.manifestBytes]) {
    const blob = await writeBlob(dir, bytes);
    if (blob.written) written.push(blobPath(dir, blob.digest));
  }

  const platform: Platform = { architecture: image.config.architecture, os: image.config.os };
  if (image.config.variant !== undefined) platform.variant = image.config.variant;
  if (image.config["os.version"] !== undefined) platform["os.version"] = image.config["os.version"];
  const annotations = { ...(options.annotations ?? {}) };
  if (options.refName !== undefined) annotations[REF_NAME_ANNOTATION] = options.refName;
  const descriptor: Descriptor = {
    mediaType: image.manifest.mediaType ?? MediaType.OCI_MANIFEST,
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
    platform,
  };
  if (Object.keys(annotations).length > 0) descriptor.annotations = annotations;

  const index = await readLayoutIndex(dir);
  const kept = index.manifests.filter((entry) => {
    const name = entry.annotations?.[REF_NAME_ANNOTATION];
    if (options.refName !== undefined) return name !== options.refName;
    // Without a ref name, an identical unnamed entry is not added twice.
    return !(name === undefined && entry.digest === descriptor.digest);
  });
  const next: ImageIndex = { ...index, schemaVersion: 2, mediaType: index.mediaType ?? MediaType.OCI_INDEX, manifests: [...kept, descriptor] };
  await writeFileAtomic(join(dir, "index.json"), canonicalJson(next));
  return descriptor;
}

export async function readLayoutIndex(layoutDir: string): Promise<ImageIndex> {
  const dir = resolve(layoutDir);
  let marker: string;
  try {
    marker = await readFile(join(dir, OCI_LAYOUT_FILE), "utf8");
  } catch {
    throw new ImageLayoutError(`${dir} is not an OCI image layout (no ${OCI_LAYOUT_FILE} file)`, {
      hint: "point at a directory written by flowpack, skopeo copy oci:DIR, or docker buildx --output type=oci,tar=false",
    });
  }
  checkLayoutMarker(dir, marker);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, "index.json"));
  } catch {
    throw new ImageLayoutError(`${dir} is not an OCI image layout (no index.json)`);
  }
  return parseImageIndex(bytes, `${join(dir, "index.json")}`);
}

/** A blob's bytes, verified against its digest (and size, when given). */
export async function readBlob(layoutDir: string, digest: string, size?: number): Promise<Buffer> {
  const path = blobPath(layoutDir, digest);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new ImageLayoutError(`blob ${digest} is missing from the layout ${resolve(layoutDir)}`);
  }
  const actual = sha256(bytes);
  if (actual !== digest || (size !== undefined && bytes.length !== size)) {
    throw new ImageLayoutError(`blob ${digest} in ${resolve(layoutDir)} is corrupted (${bytes.length} bytes hashing to ${actual})`);
  }
  return bytes;
}

export interface ReadLayoutOptions {
  /** Which image: its `org.opencontainers.image.ref.name`. Optional when the layout holds one image; only a hint with `digest`. */
  refName?: string;
  /**
   * Which image, by the digest of its manifest (or of an index holding it): an index.json entry, a
   * manifest inside a nested index, or a manifest whose blob is still in `blobs/` although
   * index.json no longer names it (its ref name moved on). Takes precedence over `refName`.
   */
  digest?: string;
  /**
   * For multi-platform entries (an index): which platform (default: `hostPlatform()`). When given,
   * the chosen image's config must be for this platform too.
   */
  platform?: Platform;
}

export interface LayoutImage extends Image<Layer> {
  /** The descriptor of the chosen manifest (from index.json, or from a nested index). */
  readonly descriptor: Descriptor;
  readonly refName: string | undefined;
  readonly layoutDir: string;
}

const refNameOf = (entry: Descriptor) => entry.annotations?.[REF_NAME_ANNOTATION];

function describeEntries(index: ImageIndex): string {
  const names = index.manifests.map((entry) => refNameOf(entry) ?? `(unnamed ${entry.digest.slice(0, 19)}…)`);
  return names.length === 0 ? "it holds no images" : `it holds: ${names.join(", ")}`;
}

/**
 * Reads an image (manifest, config, layers as file-backed `Layer`s) from an OCI layout. Manifest and
 * config are verified against their digests when read; a layer's bytes as its stream is consumed.
 */
export async function readImageFromLayout(layoutDir: string, options: ReadLayoutOptions = {}): Promise<LayoutImage> {
  const dir = resolve(layoutDir);
  const index = await readLayoutIndex(dir);
  const { entry, refName } =
    options.digest !== undefined ? await entryByDigest(dir, index, options.digest, options.refName) : entryByRefName(dir, index, options.refName);
  const wanted = options.platform ?? hostPlatform();
  const descriptor = await resolveManifestDescriptor(dir, entry, wanted, 0);

  const manifestBytes = await readBlob(dir, descriptor.digest, descriptor.size);
  const manifest = parseImageManifest(manifestBytes, `manifest ${descriptor.digest} in ${dir}`);
  const configBytes = await readBlob(dir, manifest.config.digest, manifest.config.size);
  const config = parseImageConfig(configBytes, `config ${manifest.config.digest} in ${dir}`);
  if (options.platform !== undefined) checkConfigPlatform(config, options.platform, `image ${descriptor.digest} in ${dir}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new ImageLayoutError(`image ${descriptor.digest} in ${dir}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length} diff_ids`);
  }
  const layers: Layer[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    const path = blobPath(dir, layer.digest);
    if (!(await blobExists(path, layer.size))) {
      throw new ImageLayoutError(`layer blob ${layer.digest} (${layer.size} bytes) is missing or truncated in ${dir}`);
    }
    const file = fileLayer(path, { digest: layer.digest as Sha256Digest, diffId: diffIds[i]!, size: layer.size, mediaType: layer.mediaType });
    const corrupted = (actual: { digest: string; size: number }) =>
      new ImageLayoutError(`layer ${i} (${layer.digest}) in ${dir} is corrupted: its blob is ${actual.size} bytes hashing to ${actual.digest}`, {
        hint: "the layout changed after it was written: write the image to it again",
      });
    const atEnd = (actual: ActualContent) => (actual.digest === layer.digest && actual.size === layer.size ? undefined : corrupted(actual));
    layers.push({ ...file, open: () => digestChecked(file.open(), { atEnd }) });
  }
  return {
    ...imageFromParts({ manifest, manifestBytes, config, configBytes, layers }),
    descriptor,
    refName,
    layoutDir: dir,
  };
}

function entryByRefName(dir: string, index: ImageIndex, refName: string | undefined): { entry: Descriptor; refName: string | undefined } {
  let candidates = index.manifests;
  if (refName !== undefined) {
    candidates = candidates.filter((entry) => refNameOf(entry) === refName);
    if (candidates.length === 0) {
      throw new ImageLayoutError(`the OCI layout ${dir} has no image named ${JSON.stringify(refName)}; ${describeEntries(index)}`);
    }
  }
  if (candidates.length !== 1) {
    throw new ImageLayoutError(
      candidates.length === 0
        ? `the OCI layout ${dir} holds no images`
        : `the OCI layout ${dir} holds ${candidates.length} images${refName === undefined ? "" : ` named ${JSON.stringify(refName)}`}: say which one by ref name (${describeEntries(index)})`,
    );
  }
  const entry = candidates[0]!;
  return { entry, refName: refNameOf(entry) };
}

/**
 * The entry for `digest`: from index.json (the one named `refName` first), else from a nested
 * index, else — blobs are content-addressed — the manifest or index blob itself, even when
 * index.json no longer names it.
 */
async function entryByDigest(dir: string, index: ImageIndex, digest: string, refName: string | undefined): Promise<{ entry: Descriptor; refName: string | undefined }> {
  if (!isSha256Digest(digest)) throw new ImageLayoutError(`invalid image digest ${JSON.stringify(digest)} (expected sha256:<64 hex>)`);
  const hinted =
    refName === undefined ? index.manifests : [...index.manifests.filter((e) => refNameOf(e) === refName), ...index.manifests.filter((e) => refNameOf(e) !== refName)];
  const direct = hinted.find((e) => e.digest === digest);
  if (direct) return { entry: direct, refName: refNameOf(direct) };
  for (const top of hinted) {
    const nested = await findInIndex(dir, top, digest, 0);
    if (nested) return { entry: nested, refName: refNameOf(top) };
  }
  if (await blobExists(blobPath(dir, digest))) {
    const bytes = await readBlob(dir, digest);
    return { entry: { mediaType: sniffMediaType(dir, digest, bytes), digest, size: bytes.length }, refName: undefined };
  }
  const moved = refName === undefined ? undefined : index.manifests.find((e) => refNameOf(e) === refName);
  throw new ImageLayoutError(
    `the OCI layout ${dir} does not hold the image ${digest}${moved ? ` (${JSON.stringify(refName)} now names ${moved.digest})` : ""}; ${describeEntries(index)}`,
    { hint: "its blobs are no longer in the layout: write the image there again (for a flow: package it again)" },
  );
}

/** A descriptor for `digest` inside `entry` when `entry` is an index (searched depth-first); blobs that are gone are skipped. */
async function findInIndex(dir: string, entry: Descriptor, digest: string, depth: number): Promise<Descriptor | undefined> {
  if (!isImageIndexMediaType(entry.mediaType) || depth > 4 || !(await blobExists(blobPath(dir, entry.digest), entry.size))) return undefined;
  const nested = parseImageIndex(await readBlob(dir, entry.digest, entry.size), `index ${entry.digest} in ${dir}`);
  for (const child of nested.manifests) {
    if (child.digest === digest) return child;
    const found = await findInIndex(dir, child, digest, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The media type of a manifest or index blob read by digest: its `mediaType`, else what its fields say. */
function sniffMediaType(dir: string, digest: string, bytes: Buffer): string {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    value = undefined;
  }
  const object = typeof value === "object" && value !== null ? (value as { mediaType?: unknown; manifests?: unknown; config?: unknown }) : undefined;
  if (typeof object?.mediaType === "string") return object.mediaType;
  if (Array.isArray(object?.manifests)) return MediaType.OCI_INDEX;
  if (object?.config !== undefined) return MediaType.OCI_MANIFEST;
  throw new ImageLayoutError(`blob ${digest} in ${dir} is neither an image manifest nor an index`);
}

async function resolveManifestDescriptor(dir: string, entry: Descriptor, platform: Platform, depth: number): Promise<Descriptor> {
  if (isImageManifestMediaType(entry.mediaType)) return entry;
  if (!isImageIndexMediaType(entry.mediaType)) {
    throw new ImageLayoutError(`entry ${entry.digest} in ${dir} has media type ${entry.mediaType}, which is neither an image manifest nor an index`);
  }
  if (depth > 4) throw new ImageLayoutError(`indexes in ${dir} are nested too deeply`);
  const nested = parseImageIndex(await readBlob(dir, entry.digest, entry.size), `index ${entry.digest} in ${dir}`);
  const matches = nested.manifests.filter((m) => m.platform !== undefined && platformMatches(platform, m.platform));
  if (matches.length === 0) {
    const available = nested.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []));
    throw new ImageLayoutError(
      `index ${entry.digest} in ${dir} has no image for ${formatPlatform(platform)} (available: ${available.join(", ") || "none"})`,
      { hint: "choose one of the available platforms" },
    );
  }
  return resolveManifestDescriptor(dir, matches[0]!, platform, depth + 1);
}
