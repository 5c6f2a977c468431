/** OCI and Docker media types, and what each kind of blob or manifest may be called. */

export const MediaType = {
  OCI_MANIFEST: "application/vnd.oci.image.manifest.v1+json",
  OCI_INDEX: "application/vnd.oci.image.index.v1+json",
  OCI_CONFIG: "application/vnd.oci.image.config.v1+json",
  OCI_LAYER: "application/vnd.oci.image.layer.v1.tar",
  OCI_LAYER_GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
  OCI_LAYER_ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
  OCI_LAYER_NONDISTRIBUTABLE: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  OCI_LAYER_NONDISTRIBUTABLE_GZIP: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  DOCKER_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
  DOCKER_MANIFEST_LIST: "application/vnd.docker.distribution.manifest.list.v2+json",
  DOCKER_CONFIG: "application/vnd.docker.container.image.v1+json",
  DOCKER_LAYER_GZIP: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DOCKER_FOREIGN_LAYER_GZIP: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;
export type MediaType = (typeof MediaType)[keyof typeof MediaType];

export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST];
export const IMAGE_INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST];

/**
 * Every media type a registry may serve for a manifest reference, indexes first: what a client
 * accepts when it asks for a tag or digest.
 */
export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.freeze([
  MediaType.OCI_INDEX,
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_MANIFEST_LIST,
  MediaType.DOCKER_MANIFEST,
]);

export function isImageManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && IMAGE_MANIFEST_MEDIA_TYPES.includes(mediaType);
}

export function isImageIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && IMAGE_INDEX_MEDIA_TYPES.includes(mediaType);
}

/** Layer media types whose blobs are gzip streams. */
export function isGzipLayerMediaType(mediaType: string): boolean {
  return (
    mediaType === MediaType.OCI_LAYER_GZIP ||
    mediaType === MediaType.OCI_LAYER_NONDISTRIBUTABLE_GZIP ||
    mediaType === MediaType.DOCKER_LAYER_GZIP ||
    mediaType === MediaType.DOCKER_FOREIGN_LAYER_GZIP
  );
}

/** Layer media types whose blobs are plain tar streams (digest = diffID). */
export function isUncompressedLayerMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OCI_LAYER || mediaType === MediaType.OCI_LAYER_NONDISTRIBUTABLE;
}
