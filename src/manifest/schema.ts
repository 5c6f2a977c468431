import { z } from "zod";
import { FLOW_NAME_RULE, isValidFlowName } from "../flow/name.js";
import { sha256DigestSchema } from "../oci/digest.js";

/**
 * The manifest is the whole contract between "build" and "run". Its schema lives here, once:
 * parsing, finalizing, the published JSON Schema and the TypeScript types all derive from it.
 */
export const MANIFEST_VERSION = 1;

export const absolutePosixPathSchema = z
  .string()
  .refine(
    (p) => p.startsWith("/") && !p.includes("\\") && ![...p].some((c) => c < " " || c === "\u007f") && !p.split("/").includes(".."),
    "expected an absolute POSIX path without '..' or control characters (e.g. /opt/flowpack/flow.mjs)",
  );

const commonShape = {
  manifestVersion: z.literal(MANIFEST_VERSION),
  flowName: z.string().refine(isValidFlowName, `flow names use ${FLOW_NAME_RULE}`),
  flowParameterSchema: z.looseObject({ type: z.literal("object") }),
};

/**
 * What packagers record about how a package was made. Every field is optional (manifests written
 * by older versions, or by hand, carry fewer), the known ones are validated, and unknown ones are
 * kept: tools may add their own.
 */
const commonMetadataShape = {
  /** The flow's entry, relative to its project root. */
  entry: z.string().optional(),
  /** Packages left out of the bundle, with their exact versions. */
  externals: z.array(z.looseObject({ name: z.string(), version: z.string() })).optional(),
  /** `flowpack@<version>` that wrote the manifest. */
  createdBy: z.string().optional(),
};

export const fileMetadataSchema = z.looseObject(commonMetadataShape);

export const dockerMetadataSchema = z.looseObject({
  ...commonMetadataShape,
  builder: z.enum(["docker", "oci"]).optional(),
  /** The tag the image was written under (registry, OCI layout ref name, local daemon name). */
  tag: z.string().optional(),
  baseImage: z.string().optional(),
  baseImageDigest: sha256DigestSchema.optional(),
  platforms: z.array(z.string()).optional(),
  /** Digests of the layers flowpack added on top of the base (a layout run extracts only these). */
  layers: z
    .looseObject({
      runner: sha256DigestSchema.optional(),
      dependencies: sha256DigestSchema.optional(),
      vendor: sha256DigestSchema.optional(),
      app: sha256DigestSchema.optional(),
    })
    .optional(),
  /** Bytes uploaded to the registry by the push that made this manifest. */
  bytesUploaded: z.number().int().nonnegative().optional(),
});

export const dockerManifestSchema = z.strictObject({
  type: z.literal("docker"),
  ...commonShape,
  /**
   * Digest-pinned when pushed (`host[:port]/path/name:tag@sha256:<hex>`); a local daemon image is
   * `sha256:<hex>` or `name:tag@sha256:<hex>`; an OCI layout is `oci:<dir>@sha256:<hex>`.
   */
  image: z.string().min(1).refine((s) => !/\s/.test(s), "image references contain no white space"),
  imageFlowLocation: absolutePosixPathSchema,
  metadata: dockerMetadataSchema.optional(),
});

export const bundleSerializerSchema = z.strictObject({
  type: z.literal("bundle"),
  /** Key of the bundle's source map in the same store. */
  sourceMap: sha256DigestSchema.optional(),
  /** Files beside the code (path in the project → key in the same store): placed in `assets/` beside the bundle when it is loaded. */
  assets: z.record(z.string().min(1), sha256DigestSchema).optional(),
});

export const importSerializerSchema = z.strictObject({
  type: z.literal("import"),
  /** Module specifier resolvable where the flow runs (a package name or an absolute file URL). */
  module: z.string().min(1),
  exportName: z.string().min(1),
});

export const serializerSchema = z.discriminatedUnion("type", [bundleSerializerSchema, importSerializerSchema]);

export const fileManifestSchema = z.strictObject({
  type: z.literal("file"),
  ...commonShape,
  serializer: serializerSchema,
  /** `sha256:<hex>` of the stored bytes. */
  key: sha256DigestSchema,
  /** Absolute path of the content-addressed store folder. */
  store: z.string().min(1),
  metadata: fileMetadataSchema.optional(),
});

export type DockerPackageManifest = z.infer<typeof dockerManifestSchema>;
export type DockerManifestMetadata = z.infer<typeof dockerMetadataSchema>;
export type FileManifestMetadata = z.infer<typeof fileMetadataSchema>;
export type FilePackageManifest = z.infer<typeof fileManifestSchema>;
export type BundleSerializer = z.infer<typeof bundleSerializerSchema>;
export type ImportSerializer = z.infer<typeof importSerializerSchema>;
export type Serializer = z.infer<typeof serializerSchema>;
