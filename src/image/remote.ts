import { PassThrough, type Readable } from "node:stream";
import { isSha256Digest, type Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import type { BaseImageCache } from "./base-cache.js";
import type { RegistryClient } from "../registry/client.js";
import { ImageFormatError } from "../errors.js";
import type { Layer } from "./layer.js";
import { checkConfigPlatform, formatPlatform, platformMatches } from "../oci/platform.js";
import { isImageIndexMediaType } from "../oci/media-types.js";
import { parseImageConfig, parseImageIndex, parseImageManifest, type Platform } from "../oci/image.js";
import { imageFromParts, type Image } from "./image.js";

/** An image read from a registry: layers are fetched (and verified) only when opened. */
export interface RemoteImage extends Image<Layer> {
  /** The repository it was read from, for cross-repository mounts. */
  readonly repository: string;
  readonly registry: string;
}

/**
 * Reads an image's manifest and config from a registry; for an index, the manifest of `platform`.
 * Layer bytes are not downloaded here: a push to the same registry mounts them instead, and a copy
 * elsewhere streams each one through a digest check.
 */
export async function readRemoteImage(
  client: RegistryClient,
  repository: string,
  reference: string,
  platform: Platform,
  cache?: BaseImageCache,
): Promise<RemoteImage> {
  const pinned = isSha256Digest(reference);
  const key = `${client.endpoint.name}/${repository}${pinned ? "@" : ":"}${reference} ${formatPlatform(platform)}`;
  const cached = cache ? await fromCache(cache, key, pinned) : undefined;
  let manifestBytes: Buffer;
  let parsed: ImageManifestParts;
  let configBytes: Buffer;
  if (cached) {
    ({ manifestBytes, parsed, configBytes } = cached);
  } else {
    let manifest = await client.getManifest(repository, reference);
    if (isImageIndexMediaType(manifest.mediaType)) {
      const index = parseImageIndex(manifest.bytes, `index ${repository}:${reference}`);
      const match = index.manifests.find((m) => m.platform && platformMatches(platform, m.platform));
      if (!match) {
        const available = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!)).join(", ");
        throw new ImageFormatError(`${repository}:${reference} has no image for ${formatPlatform(platform)} (it has: ${available || "none"})`);
      }
      // Content named by digest: what was read before is still right.
      const known = await cache?.blob(match.digest);
      manifest = known ? { bytes: known, mediaType: match.mediaType, digest: match.digest } : await client.getManifest(repository, match.digest);
    }
    manifestBytes = Buffer.from(manifest.bytes);
    parsed = parseImageManifest(manifestBytes, `manifest of ${repository}:${reference}`);
    const descriptor = parsed.config;
    configBytes = (await cache?.blob(descriptor.digest)) ?? Buffer.from(await client.getBlob(repository, descriptor.digest, { size: descriptor.size }));
  }
  const config = parseImageConfig(configBytes, `config of ${repository}:${reference}`);
  checkConfigPlatform(config, platform, `${repository}:${reference}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== parsed.layers.length) {
    throw new ImageFormatError(`${repository}:${reference}: the manifest lists ${parsed.layers.length} layers but the config ${diffIds.length} diff_ids`);
  }
  if (cache && !cached) {
    const manifestDigest = sha256(manifestBytes);
    await Promise.all([cache.store(manifestDigest, manifestBytes), cache.store(parsed.config.digest, configBytes)]);
    await cache.remember(key, manifestDigest);
  }
  const layers: Layer[] = parsed.layers.map((descriptor, i) => ({
    digest: descriptor.digest as Sha256Digest,
    diffId: diffIds[i]!,
    size: descriptor.size,
    mediaType: descriptor.mediaType,
    open: () => lazyStream(() => client.getBlobStream(repository, descriptor.digest, { size: descriptor.size })),
  }));
  return {
    ...imageFromParts({ manifest: parsed, manifestBytes, config, configBytes, layers }),
    repository,
    registry: client.endpoint.name,
  };
}

type ImageManifestParts = ReturnType<typeof parseImageManifest>;

/** The manifest (bytes and parsed) and config a fresh cache entry names, when both are still there intact. */
async function fromCache(cache: BaseImageCache, key: string, pinned: boolean): Promise<{ manifestBytes: Buffer; parsed: ImageManifestParts; configBytes: Buffer } | undefined> {
  const digest = await cache.resolved(key, pinned);
  const manifestBytes = digest ? await cache.blob(digest) : undefined;
  if (!manifestBytes) return undefined;
  let parsed: ImageManifestParts;
  try {
    parsed = parseImageManifest(manifestBytes, "cached base manifest");
  } catch {
    return undefined;
  }
  const configBytes = await cache.blob(parsed.config.digest);
  return configBytes ? { manifestBytes, parsed, configBytes } : undefined;
}

/** A stream now, for bytes that arrive once an async request has answered. */
function lazyStream(open: () => Promise<Readable>): Readable {
  const out = new PassThrough();
  open().then(
    (source) => {
      source.on("error", (error) => out.destroy(error));
      source.pipe(out);
    },
    (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return out;
}
