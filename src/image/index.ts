// flowpack's OCI image model: references, formats, layers, assembly, and the layout / docker-archive
// sinks. Pure transforms (reference, oci, image) are separate from I/O (layer, layout, docker-archive, extract).

export {
  parseReference,
  formatReference,
  familiarReference,
  withDigest,
  withTag,
  repository,
  registryHost,
  isLoopbackHost,
  DOCKER_HUB_REGISTRY,
  DOCKER_HUB_API_HOST,
  DEFAULT_TAG,
  PATH_COMPONENT_RULE,
  TAG_RULE,
  DIGEST_RULE,
} from "./reference.js";
export type { ImageReference, ParseReferenceOptions } from "./reference.js";

export {
  MediaType,
  IMAGE_MANIFEST_MEDIA_TYPES,
  IMAGE_INDEX_MEDIA_TYPES,
  isImageManifestMediaType,
  isImageIndexMediaType,
  isGzipLayerMediaType,
  isUncompressedLayerMediaType,
  platformSchema,
  descriptorSchema,
  imageManifestSchema,
  imageIndexSchema,
  imageConfigSchema,
  containerConfigSchema,
  historySchema,
  parseImageManifest,
  parseImageIndex,
  parseImageConfig,
  canonicalJson,
  parsePlatform,
  formatPlatform,
  platformMatches,
  ociArchitecture,
  hostPlatform,
} from "./oci.js";
export type {
  Platform,
  Descriptor,
  ImageManifest,
  ImageIndex,
  ImageConfig,
  ContainerConfig,
  HistoryEntry,
} from "./oci.js";

export {
  buildLayer,
  layerFromDirectory,
  directoryEntries,
  fileLayer,
  bufferLayer,
  normaliseEntryPath,
  sourceDateEpoch,
  DEFAULT_COMPRESSION_LEVEL,
} from "./layer.js";
export type {
  Layer,
  LayerInfo,
  BuiltLayer,
  DirectoryLayer,
  LayerEntry,
  LayerEntryContent,
  Owner,
  BuildLayerOptions,
  DirectoryLayerOptions,
} from "./layer.js";

export { assembleImage, imageFromParts, layerDescriptor, baseImageAnnotations } from "./image.js";
export type { Image, BaseImage, AppendedLayer, ConfigChanges, AssembleOptions } from "./image.js";

export {
  initLayout,
  writeBlob,
  writeBlobStream,
  writeImageToLayout,
  readLayoutIndex,
  readImageFromLayout,
  readBlob,
  blobPath,
  OCI_LAYOUT_FILE,
  OCI_LAYOUT_VERSION,
  REF_NAME_ANNOTATION,
} from "./layout.js";
export type { WriteLayoutOptions, ReadLayoutOptions, LayoutImage } from "./layout.js";

export { writeDockerArchive } from "./docker-archive.js";
export type { DockerArchiveOptions, DockerArchiveManifestEntry } from "./docker-archive.js";

export { extractLayers } from "./extract.js";
export type { ExtractableLayer, ExtractOptions, ExtractResult } from "./extract.js";

export { ImageReferenceError, LayerError, ImageFormatError, ImageLayoutError, UnsafeLayerEntryError } from "../errors.js";
