import { PassThrough, type Readable } from "node:stream";
import type { Sha256Digest } from "../oci/digest.js";
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
export async function readRemoteImage(client: RegistryClient, repository: string, reference: string, platform: Platform): Promise<RemoteImage> {
  let manifest = await client.getManifest(repository, reference);
  if (isImageIndexMediaType(manifest.mediaType)) {
    const index = parseImageIndex(manifest.bytes, `index ${repository}:${reference}`);
    const match = index.manifests.find((m) => m.platform && platformMatches(platform, m.platform));
    if (!match) {
      const available = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!)).join(", ");
      throw new ImageFormatError(`${repository}:${reference} has no image for ${formatPlatform(platform)} (it has: ${available || "none"})`);
    }
    manifest = await client.getManifest(repository, match.digest);
  }
  const parsed = parseImageManifest(manifest.bytes, `manifest of ${repository}:${reference}`);
  const configBytes = Buffer.from(await client.getBlob(repository, parsed.config.digest, { size: parsed.config.size }));
  const config = parseImageConfig(configBytes, `config of ${repository}:${reference}`);
  checkConfigPlatform(config, platform, `${repository}:${reference}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== parsed.layers.length) {
    throw new ImageFormatError(`${repository}:${reference}: the manifest lists ${parsed.layers.length} layers but the config ${diffIds.length} diff_ids`);
  }
  const layers: Layer[] = parsed.layers.map((descriptor, i) => ({
    digest: descriptor.digest as Sha256Digest,
    diffId: diffIds[i]!,
    size: descriptor.size,
    mediaType: descriptor.mediaType,
    open: () => lazyStream(() => client.getBlobStream(repository, descriptor.digest, { size: descriptor.size })),
  }));
  return {
    ...imageFromParts({ manifest: parsed, manifestBytes: Buffer.from(manifest.bytes), config, configBytes, layers }),
    repository,
    registry: client.endpoint.name,
  };
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
