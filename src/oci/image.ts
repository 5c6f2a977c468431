import * as z from "../_internal/zod-mini.js";
import { IMAGE_INDEX_MEDIA_TYPES, IMAGE_MANIFEST_MEDIA_TYPES, isImageIndexMediaType, isImageManifestMediaType } from "./media-types.js";
import { sha256DigestSchema, type Sha256Digest } from "./digest.js";
import { ImageFormatError } from "../errors.js";

/**
 * The OCI image format as data: media types, zod schemas for manifests, indexes and configs,
 * descriptors and platforms. Docker's v2 schema 2 spellings are accepted wherever a registry may
 * answer with them. Schemas are loose (unknown fields are kept) so a base image's extra config
 * fields survive a rebuild unchanged.
 */

// ── schemas ─────────────────────────────────────────────────────────────────

const digestSchema = z.string().check(z.regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, "expected a digest like sha256:<hex>"));
const diffIdSchema = z.pipe(sha256DigestSchema, z.transform((s: string) => s as Sha256Digest));
const annotationsSchema = z.record(z.string(), z.string());

export const platformSchema = z.looseObject({
  architecture: z.string().check(z.minLength(1)),
  os: z.string().check(z.minLength(1)),
  "os.version": z.optional(z.string()),
  "os.features": z.optional(z.array(z.string())),
  variant: z.optional(z.string()),
  features: z.optional(z.array(z.string())),
});
export type Platform = z.infer<typeof platformSchema>;

export const descriptorSchema = z.looseObject({
  mediaType: z.string().check(z.minLength(1)),
  digest: digestSchema,
  size: z.number().check(z.int(), z.nonnegative()),
  urls: z.optional(z.array(z.string())),
  annotations: z.optional(annotationsSchema),
  platform: z.optional(platformSchema),
  artifactType: z.optional(z.string()),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

/** An OCI image manifest, or a Docker v2 schema 2 manifest (same shape). */
export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.optional(z.string()),
  artifactType: z.optional(z.string()),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: z.optional(descriptorSchema),
  annotations: z.optional(annotationsSchema),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

/** An OCI image index, or a Docker manifest list (same shape). */
export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.optional(z.string()),
  artifactType: z.optional(z.string()),
  manifests: z.array(descriptorSchema),
  subject: z.optional(descriptorSchema),
  annotations: z.optional(annotationsSchema),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

/** `{"80/tcp": {}}`-style sets used by ExposedPorts and Volumes. */
const emptyObjectSetSchema = z.record(z.string(), z.looseObject({}));

export const containerConfigSchema = z.looseObject({
  User: z.optional(z.string()),
  ExposedPorts: z.nullish(emptyObjectSetSchema),
  Env: z.nullish(z.array(z.string())),
  Entrypoint: z.nullish(z.array(z.string())),
  Cmd: z.nullish(z.array(z.string())),
  Volumes: z.nullish(emptyObjectSetSchema),
  WorkingDir: z.optional(z.string()),
  Labels: z.nullish(z.record(z.string(), z.string())),
  StopSignal: z.optional(z.string()),
});
export type ContainerConfig = z.infer<typeof containerConfigSchema>;

export const historySchema = z.looseObject({
  created: z.optional(z.string()),
  created_by: z.optional(z.string()),
  author: z.optional(z.string()),
  comment: z.optional(z.string()),
  empty_layer: z.optional(z.boolean()),
});
export type HistoryEntry = z.infer<typeof historySchema>;

export const imageConfigSchema = z.looseObject({
  created: z.optional(z.string()),
  author: z.optional(z.string()),
  architecture: z.string().check(z.minLength(1)),
  os: z.string().check(z.minLength(1)),
  "os.version": z.optional(z.string()),
  "os.features": z.optional(z.array(z.string())),
  variant: z.optional(z.string()),
  config: z.optional(containerConfigSchema),
  rootfs: z.looseObject({
    type: z.literal("layers"),
    diff_ids: z.array(diffIdSchema),
  }),
  history: z.optional(z.array(historySchema)),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

function formatIssues(error: z.core.$ZodError): string {
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

function parseWith<T extends z.ZodMiniType>(schema: T, bytes: Uint8Array | string, what: string): z.infer<T> {
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

/** What a registry serves for a manifest reference: an image manifest or an index. */
export type ManifestOrIndex = ImageManifest | ImageIndex;

export function isImageIndex(manifest: ManifestOrIndex): manifest is ImageIndex {
  return "manifests" in manifest && Array.isArray(manifest.manifests);
}

/**
 * An image manifest or an index (OCI or Docker), told apart by its media type, or by its shape
 * when the media type is missing or one we do not know (artifacts reuse both shapes).
 */
export function parseManifestOrIndex(bytes: Uint8Array | string, what = "manifest"): ManifestOrIndex {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ImageFormatError(`${what} is not JSON`, { cause: error });
  }
  const fields = (json !== null && typeof json === "object" ? json : {}) as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown };
  if (fields.schemaVersion === 1) throw new ImageFormatError(`${what} is a Docker schema 1 manifest, which is not supported`);
  const mediaType = typeof fields.mediaType === "string" ? fields.mediaType : undefined;
  const index = isImageIndexMediaType(mediaType) || (!isImageManifestMediaType(mediaType) && fields.manifests !== undefined);
  const result = (index ? imageIndexSchema : imageManifestSchema).safeParse(json);
  if (!result.success) throw new ImageFormatError(`${what} is not an image manifest or index: ${formatIssues(result.error)}`);
  return result.data;
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
