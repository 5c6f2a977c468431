import * as z from "../_internal/zod-mini.js";
import { FLOW_NAME_RULE, isValidFlowName } from "../flow/name.js";
import { sha256DigestSchema } from "../oci/digest.js";

/**
 * The manifest is the whole contract between "build" and "run". Its schema lives here, once:
 * parsing, finalizing, the published JSON Schema and the TypeScript types all derive from it.
 */
export const MANIFEST_VERSION = 1;

export const absolutePosixPathSchema = z.string().check(
  z.refine(
    (p) => p.startsWith("/") && !p.includes("\\") && ![...p].some((c) => c < " " || c === "\u007f") && !p.split("/").includes(".."),
    "expected an absolute POSIX path without '..' or control characters (e.g. /opt/flowpack/flow.mjs)",
  ),
);

const commonShape = {
  manifestVersion: z.literal(MANIFEST_VERSION),
  flowName: z.string().check(z.refine(isValidFlowName, `flow names use ${FLOW_NAME_RULE}`)),
  flowParameterSchema: z.looseObject({ type: z.literal("object") }),
};

/**
 * What packagers record about how a package was made. Every field is optional (manifests written
 * by older versions, or by hand, carry fewer), the known ones are validated, and unknown ones are
 * kept: tools may add their own.
 */
const commonMetadataShape = {
  /** The flow's entry, relative to its project root. */
  entry: z.optional(z.string()),
  /** Packages left out of the bundle, with their exact versions. */
  externals: z.optional(z.array(z.looseObject({ name: z.string(), version: z.string() }))),
  /** `flowpack@<version>` that wrote the manifest. */
  createdBy: z.optional(z.string()),
};

export const fileMetadataSchema = z.looseObject(commonMetadataShape);

export const dockerMetadataSchema = z.looseObject({
  ...commonMetadataShape,
  builder: z.optional(z.enum(["docker", "oci"])),
  /** The tag the image was written under (registry, OCI layout ref name, local daemon name). */
  tag: z.optional(z.string()),
  baseImage: z.optional(z.string()),
  baseImageDigest: z.optional(sha256DigestSchema),
  platforms: z.optional(z.array(z.string())),
  /** Digests of the layers flowpack added on top of the base (a layout run extracts only these). */
  layers: z.optional(
    z.looseObject({
      runner: z.optional(sha256DigestSchema),
      dependencies: z.optional(sha256DigestSchema),
      vendor: z.optional(sha256DigestSchema),
      app: z.optional(sha256DigestSchema),
    }),
  ),
  /** Bytes uploaded to the registry by the push that made this manifest. */
  bytesUploaded: z.optional(z.number().check(z.int(), z.nonnegative())),
});

export const dockerManifestSchema = z.strictObject({
  type: z.literal("docker"),
  ...commonShape,
  /**
   * Digest-pinned when pushed (`host[:port]/path/name:tag@sha256:<hex>`); a local daemon image is
   * `sha256:<hex>` or `name:tag@sha256:<hex>`; an OCI layout is `oci:<dir>@sha256:<hex>`.
   */
  image: z.string().check(z.minLength(1), z.refine((s) => !/\s/.test(s), "image references contain no white space")),
  imageFlowLocation: absolutePosixPathSchema,
  metadata: z.optional(dockerMetadataSchema),
});

export const bundleSerializerSchema = z.strictObject({
  type: z.literal("bundle"),
  /** Key of the bundle's source map in the same store. */
  sourceMap: z.optional(sha256DigestSchema),
  /** Files beside the code (path in the project → key in the same store): placed in `assets/` beside the bundle when it is loaded. */
  assets: z.optional(z.record(z.string().check(z.minLength(1)), sha256DigestSchema)),
});

export const importSerializerSchema = z.strictObject({
  type: z.literal("import"),
  /** Module specifier resolvable where the flow runs (a package name or an absolute file URL). */
  module: z.string().check(z.minLength(1)),
  exportName: z.string().check(z.minLength(1)),
});

export const serializerSchema = z.discriminatedUnion("type", [bundleSerializerSchema, importSerializerSchema]);

export const fileManifestSchema = z.strictObject({
  type: z.literal("file"),
  ...commonShape,
  serializer: serializerSchema,
  /** `sha256:<hex>` of the stored bytes. */
  key: sha256DigestSchema,
  /** Absolute path of the content-addressed store folder. */
  store: z.string().check(z.minLength(1)),
  metadata: z.optional(fileMetadataSchema),
});

export type DockerPackageManifest = z.infer<typeof dockerManifestSchema>;
export type DockerManifestMetadata = z.infer<typeof dockerMetadataSchema>;
export type FileManifestMetadata = z.infer<typeof fileMetadataSchema>;
export type FilePackageManifest = z.infer<typeof fileManifestSchema>;
export type BundleSerializer = z.infer<typeof bundleSerializerSchema>;
export type ImportSerializer = z.infer<typeof importSerializerSchema>;
export type Serializer = z.infer<typeof serializerSchema>;
