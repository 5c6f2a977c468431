import { z } from "zod";
import { isSha256Digest } from "../_internal/digest.js";
import { ImageFormatError } from "../errors.js";

/**
 * The OCI image format as data: media types, zod schemas for manifests, indexes and configs,
 * descriptors and platforms. Docker's v2 schema 2 spellings are accepted wherever a registry may
 * answer with them. Schemas are loose (unknown fields are kept) so a base image's extra config
 * fields survive a rebuild unchanged.
 */

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

// ── schemas ─────────────────────────────────────────────────────────────────

export const digestSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, "expected a digest like sha256:<hex>");
export const sha256DigestSchema = z
  .string()
  .refine(isSha256Digest, "expected sha256:<64 lowercase hex digits>")
  .transform((s) => s as `sha256:${string}`);
const annotationsSchema = z.record(z.string(), z.string());

export const platformSchema = z.looseObject({
  architecture: z.string().min(1),
  os: z.string().min(1),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof platformSchema>;

export const descriptorSchema = z.looseObject({
  mediaType: z.string().min(1),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotationsSchema.optional(),
  platform: platformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

/** An OCI image manifest, or a Docker v2 schema 2 manifest (same shape). */
export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

/** An OCI image index, or a Docker manifest list (same shape). */
export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

/** `{"80/tcp": {}}`-style sets used by ExposedPorts and Volumes. */
const emptyObjectSetSchema = z.record(z.string(), z.looseObject({}));

export const containerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: emptyObjectSetSchema.nullish(),
  Env: z.array(z.string()).nullish(),
  Entrypoint: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  Volumes: emptyObjectSetSchema.nullish(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
});
export type ContainerConfig = z.infer<typeof containerConfigSchema>;

export const historySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});
export type HistoryEntry = z.infer<typeof historySchema>;

export const imageConfigSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string().min(1),
  os: z.string().min(1),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  config: containerConfigSchema.optional(),
  rootfs: z.looseObject({
    type: z.literal("layers"),
    diff_ids: z.array(sha256DigestSchema),
  }),
  history: z.array(historySchema).optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

function parseJson(bytes: Uint8Array | string, what: string): unknown {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ImageFormatError(`${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function parseWith<T extends z.ZodType>(schema: T, bytes: Uint8Array | string, what: string): z.infer<T> {
  const result = schema.safeParse(parseJson(bytes, what));
  if (!result.success) throw new ImageFormatError(`${what} is invalid: ${formatIssues(result.error)}`);
  return result.data;
}

export function parseImageManifest(bytes: Uint8Array | string, what = "image manifest"): ImageManifest {
  const manifest = parseWith(imageManifestSchema, bytes, what);
  if (manifest.mediaType !== undefined && !isImageManifestMediaType(manifest.mediaType)) {
    throw new ImageFormatError(`${what} has media type ${manifest.mediaType}, expected ${IMAGE_MANIFEST_MEDIA_TYPES.join(" or ")}`);
  }
  return manifest;
}

export function parseImageIndex(bytes: Uint8Array | string, what = "image index"): ImageIndex {
  const index = parseWith(imageIndexSchema, bytes, what);
  if (index.mediaType !== undefined && !isImageIndexMediaType(index.mediaType)) {
    throw new ImageFormatError(`${what} has media type ${index.mediaType}, expected ${IMAGE_INDEX_MEDIA_TYPES.join(" or ")}`);
  }
  return index;
}

export function parseImageConfig(bytes: Uint8Array | string, what = "image config"): ImageConfig {
  return parseWith(imageConfigSchema, bytes, what);
}

/**
 * Canonical JSON bytes: object keys sorted (by code point) at every depth, no white space,
 * `undefined` members dropped. Equal values always give equal bytes, hence equal digests.
 */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(value)), "utf8");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortKeys(item)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(compareCodePoints)) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

// ── platforms ───────────────────────────────────────────────────────────────

const PLATFORM_PART = /^[a-z0-9][a-z0-9._-]*$/;

/** `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7` → Platform. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PLATFORM_PART.test(p))) {
    throw new ImageFormatError(`invalid platform ${JSON.stringify(text)}: expected os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}

/** Default variants, so `linux/arm64` and `linux/arm64/v8` compare equal. */
function normalisedVariant(platform: Platform): string | undefined {
  if (platform.variant) return platform.variant;
  if (platform.architecture === "arm64") return "v8";
  if (platform.architecture === "arm") return "v7";
  return undefined;
}

/** True when an image for `candidate` runs on `wanted` (os, architecture and variant agree). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  return (
    wanted.os === candidate.os &&
    wanted.architecture === candidate.architecture &&
    normalisedVariant(wanted) === normalisedVariant(candidate)
  );
}

/** The platform an image's config says it is built for. */
export function configPlatform(config: ImageConfig): Platform {
  return config.variant === undefined ? { os: config.os, architecture: config.architecture } : { os: config.os, architecture: config.architecture, variant: config.variant };
}

/**
 * Refuses an image whose config is not for `wanted`: os and architecture must agree, and the
 * variant too when the config gives one. `what` names the image in the error.
 */
export function checkConfigPlatform(config: ImageConfig, wanted: Platform, what: string): void {
  const actual = configPlatform(config);
  const matches = actual.variant === undefined ? actual.os === wanted.os && actual.architecture === wanted.architecture : platformMatches(wanted, actual);
  if (!matches) {
    throw new ImageFormatError(`${what} is built for ${formatPlatform(actual)}, not ${formatPlatform(wanted)}`, {
      hint: `use a base image that has ${formatPlatform(wanted)} (a multi-platform index), or build for ${formatPlatform(actual)}`,
    });
  }
}

/** Node's `process.arch` → OCI (GOARCH) architecture names. */
const ARCHITECTURES: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

export function ociArchitecture(nodeArch: string): string {
  const arch = ARCHITECTURES[nodeArch];
  if (arch === undefined) throw new ImageFormatError(`Node architecture ${JSON.stringify(nodeArch)} has no OCI name`);
  return arch;
}

/**
 * The container platform matching this machine's CPU. The OS is `linux` unless given: flowpack
 * builds Linux images even on macOS and Windows hosts (which run them in a Linux VM).
 */
export function hostPlatform(options: { os?: string; arch?: string; armVersion?: string | number } = {}): Platform {
  const architecture = ociArchitecture(options.arch ?? process.arch);
  const os = options.os ?? "linux";
  if (architecture === "arm64") return { os, architecture, variant: "v8" };
  if (architecture === "arm") {
    const version = options.armVersion ?? (process.config.variables as { arm_version?: string | number }).arm_version ?? 7;
    return { os, architecture, variant: `v${String(version)}` };
  }
  return { os, architecture };
}
