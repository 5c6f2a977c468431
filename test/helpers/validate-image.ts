import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract as tarExtract } from "tar-stream";

/**
 * An image checker for tests, after go-containerregistry's `validate.Image`. It shares no code with
 * src/image on purpose: it re-derives every digest, size and diffID from the bytes.
 *
 * Checks: manifest digest and size, media types (manifest, config, layers, and that they agree),
 * config digest and size, each layer's digest and size (hash of the blob) and diffID (hash of the
 * gunzipped blob), that each layer is a readable tar without duplicate paths, that
 * config.rootfs.diff_ids has one entry per layer, and that history has one non-empty-layer entry
 * per layer. Returns the problems found; an empty list means valid.
 */

export interface ImageSource {
  /** The manifest's raw bytes. */
  manifest(): Promise<Uint8Array>;
  /** A blob's bytes by digest (a stream for large layers). */
  blob(digest: string): Promise<Readable | Uint8Array>;
  /** What the referrer (index.json, a registry's Docker-Content-Digest, a pinned reference) says about the manifest. */
  expected?: { digest?: string; size?: number; mediaType?: string };
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const GZIP_LAYERS = new Set([
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);
const TAR_LAYERS = new Set(["application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar"]);
const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Desc {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
}

function hashOf(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function toStream(blob: Readable | Uint8Array): Readable {
  return blob instanceof Uint8Array ? Readable.from([Buffer.from(blob)], { objectMode: false }) : blob;
}

async function toBuffer(blob: Readable | Uint8Array): Promise<Buffer> {
  if (blob instanceof Uint8Array) return Buffer.from(blob);
  const chunks: Buffer[] = [];
  for await (const chunk of blob as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface LayerFacts {
  digest: string;
  size: number;
  diffId: string;
  entries: number;
  duplicates: string[];
}

/** One pass over a layer blob: compressed hash and size, uncompressed hash, tar entry names. */
async function inspectLayer(blob: Readable, gzip: boolean): Promise<LayerFacts> {
  const compressed = createHash("sha256");
  const uncompressed = createHash("sha256");
  let size = 0;
  const names = new Set<string>();
  const duplicates: string[] = [];
  let entries = 0;
  const extract = tarExtract();
  extract.on("error", () => undefined); // surfaces through `reading` / the pipeline
  const reading = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, "").replace(/\/$/, "");
      entries++;
      if (names.has(name)) duplicates.push(name);
      names.add(name);
      for await (const _ of entry) void _;
    }
  })();
  const hashCompressed = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      compressed.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  const intoTar = async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      uncompressed.update(chunk);
      if (!extract.write(chunk)) await new Promise<void>((resolve) => extract.once("drain", () => resolve()));
    }
    extract.end(undefined);
  };
  try {
    if (gzip) await pipeline(blob, hashCompressed, createGunzip(), intoTar);
    else await pipeline(blob, hashCompressed, intoTar);
  } catch (error) {
    extract.destroy(error as Error);
    await reading.catch(() => undefined);
    throw error;
  }
  await reading;
  const digest = `sha256:${compressed.digest("hex")}`;
  return { digest, size, diffId: gzip ? `sha256:${uncompressed.digest("hex")}` : digest, entries, duplicates };
}

export async function validateImage(source: ImageSource): Promise<string[]> {
  const problems: string[] = [];
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await source.manifest();
  } catch (error) {
    return [`cannot read the manifest: ${(error as Error).message}`];
  }
  const manifestDigest = hashOf(manifestBytes);
  if (source.expected?.digest !== undefined && source.expected.digest !== manifestDigest) {
    problems.push(`manifest digest: expected ${source.expected.digest}, sha256(manifest) = ${manifestDigest}`);
  }
  if (source.expected?.size !== undefined && source.expected.size !== manifestBytes.length) {
    problems.push(`manifest size: expected ${source.expected.size}, len(manifest) = ${manifestBytes.length}`);
  }
  let manifest: { schemaVersion?: unknown; mediaType?: unknown; config?: Desc; layers?: Desc[] };
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString("utf8")) as typeof manifest;
  } catch (error) {
    return [...problems, `manifest is not JSON: ${(error as Error).message}`];
  }
  if (manifest.schemaVersion !== 2) problems.push(`manifest schemaVersion is ${String(manifest.schemaVersion)}, expected 2`);
  const manifestType = manifest.mediaType ?? source.expected?.mediaType;
  if (manifestType !== OCI_MANIFEST && manifestType !== DOCKER_MANIFEST) {
    problems.push(`manifest mediaType is ${String(manifestType)}, expected ${OCI_MANIFEST} or ${DOCKER_MANIFEST}`);
  }
  if (source.expected?.mediaType !== undefined && manifest.mediaType !== undefined && manifest.mediaType !== source.expected.mediaType) {
    problems.push(`manifest mediaType ${String(manifest.mediaType)} differs from its descriptor's ${source.expected.mediaType}`);
  }
  const config = manifest.config;
  const layers = manifest.layers;
  if (!config || typeof config.digest !== "string" || !DIGEST.test(config.digest) || typeof config.size !== "number") {
    return [...problems, "manifest.config is not a descriptor with a sha256 digest and a size"];
  }
  if (!Array.isArray(layers)) return [...problems, "manifest.layers is not an array"];
  const expectedConfigType = manifestType === DOCKER_MANIFEST ? DOCKER_CONFIG : OCI_CONFIG;
  if (config.mediaType !== expectedConfigType) {
    problems.push(`config mediaType is ${String(config.mediaType)}, expected ${expectedConfigType} in a ${String(manifestType)}`);
  }

  // config
  let configJson: { rootfs?: { type?: unknown; diff_ids?: unknown }; history?: { empty_layer?: unknown }[]; os?: unknown; architecture?: unknown } | undefined;
  try {
    const configBytes = await toBuffer(await source.blob(config.digest));
    const digest = hashOf(configBytes);
    if (digest !== config.digest) problems.push(`config digest: manifest says ${config.digest}, sha256(config) = ${digest}`);
    if (configBytes.length !== config.size) problems.push(`config size: manifest says ${config.size}, len(config) = ${configBytes.length}`);
    configJson = JSON.parse(configBytes.toString("utf8")) as typeof configJson;
  } catch (error) {
    problems.push(`cannot read config ${config.digest}: ${(error as Error).message}`);
  }
  let diffIds: unknown[] = [];
  if (configJson) {
    if (typeof configJson.os !== "string" || typeof configJson.architecture !== "string") problems.push("config lacks os or architecture");
    if (configJson.rootfs?.type !== "layers") problems.push(`config rootfs.type is ${String(configJson.rootfs?.type)}, expected "layers"`);
    diffIds = Array.isArray(configJson.rootfs?.diff_ids) ? configJson.rootfs.diff_ids : [];
    if (diffIds.length !== layers.length) {
      problems.push(`config rootfs.diff_ids has ${diffIds.length} entries for ${layers.length} layers`);
    }
    if (configJson.history !== undefined) {
      const nonEmpty = configJson.history.filter((h) => h.empty_layer !== true).length;
      if (nonEmpty !== layers.length) problems.push(`config history has ${nonEmpty} non-empty-layer entries for ${layers.length} layers`);
    }
  }

  // layers
  for (const [i, layer] of layers.entries()) {
    const where = `layer[${i}]`;
    if (typeof layer.digest !== "string" || !DIGEST.test(layer.digest) || typeof layer.size !== "number" || typeof layer.mediaType !== "string") {
      problems.push(`${where} is not a descriptor with mediaType, sha256 digest and size`);
      continue;
    }
    const gzip = GZIP_LAYERS.has(layer.mediaType);
    if (!gzip && !TAR_LAYERS.has(layer.mediaType)) {
      problems.push(`${where} mediaType ${layer.mediaType} is not a tar or tar+gzip layer type`);
      continue;
    }
    let facts: LayerFacts;
    try {
      facts = await inspectLayer(toStream(await source.blob(layer.digest)), gzip);
    } catch (error) {
      problems.push(`${where} (${layer.digest}) cannot be read as ${gzip ? "tar+gzip" : "tar"}: ${(error as Error).message}`);
      continue;
    }
    if (facts.digest !== layer.digest) problems.push(`${where} digest: manifest says ${layer.digest}, sha256(blob) = ${facts.digest}`);
    if (facts.size !== layer.size) problems.push(`${where} size: manifest says ${layer.size}, len(blob) = ${facts.size}`);
    if (diffIds[i] !== undefined && diffIds[i] !== facts.diffId) {
      problems.push(`${where} diffID: config says ${String(diffIds[i])}, sha256(gunzip(blob)) = ${facts.diffId}`);
    }
    if (facts.duplicates.length > 0) problems.push(`${where} has duplicate paths: ${facts.duplicates.slice(0, 5).join(", ")}`);
  }
  return problems;
}

/**
 * Validates images in an OCI layout: the one named `refName`, or every image listed in index.json.
 * Also checks the layout's `oci-layout` file and index descriptors.
 */
export async function validateLayoutImage(layoutDir: string, refName?: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    const marker = JSON.parse(await readFile(join(layoutDir, "oci-layout"), "utf8")) as { imageLayoutVersion?: unknown };
    if (marker.imageLayoutVersion !== "1.0.0") problems.push(`oci-layout imageLayoutVersion is ${String(marker.imageLayoutVersion)}`);
  } catch (error) {
    return [`cannot read ${join(layoutDir, "oci-layout")}: ${(error as Error).message}`];
  }
  let index: { schemaVersion?: unknown; manifests?: (Desc & { annotations?: Record<string, string> })[] };
  try {
    index = JSON.parse(await readFile(join(layoutDir, "index.json"), "utf8")) as typeof index;
  } catch (error) {
    return [...problems, `cannot read index.json: ${(error as Error).message}`];
  }
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) return [...problems, "index.json is not an image index"];
  const chosen =
    refName === undefined
      ? index.manifests
      : index.manifests.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"] === refName);
  if (chosen.length === 0) return [...problems, `index.json lists no image${refName === undefined ? "" : ` named ${refName}`}`];
  const blob = async (digest: string) => {
    if (!DIGEST.test(digest)) throw new Error(`invalid digest ${digest}`);
    return createReadStream(join(layoutDir, "blobs", "sha256", digest.slice(7)));
  };
  for (const descriptor of chosen) {
    const name = descriptor.annotations?.["org.opencontainers.image.ref.name"] ?? String(descriptor.digest);
    const found = await validateImage({
      manifest: async () => toBuffer(await blob(String(descriptor.digest))),
      blob,
      expected: {
        digest: String(descriptor.digest),
        ...(typeof descriptor.size === "number" ? { size: descriptor.size } : {}),
        ...(typeof descriptor.mediaType === "string" ? { mediaType: descriptor.mediaType } : {}),
      },
    });
    problems.push(...found.map((p) => `${name}: ${p}`));
  }
  return problems;
}

/** Validates an image held by a registry, given fetchers (e.g. built on the registry client or plain fetch). */
export async function validateRegistryImage(fetchers: {
  getManifest: () => Promise<{ bytes: Uint8Array; digest?: string; mediaType?: string }>;
  getBlob: (digest: string) => Promise<Readable | Uint8Array>;
}): Promise<string[]> {
  const fetched = await fetchers.getManifest();
  return validateImage({
    manifest: async () => fetched.bytes,
    blob: fetchers.getBlob,
    expected: {
      ...(fetched.digest !== undefined ? { digest: fetched.digest } : {}),
      ...(fetched.mediaType !== undefined ? { mediaType: fetched.mediaType } : {}),
    },
  });
}
