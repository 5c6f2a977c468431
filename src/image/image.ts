import type { Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { ImageFormatError } from "../errors.js";
import type { LayerInfo } from "./layer.js";
import { sourceDateEpoch } from "./layer-writer.js";
import { canonicalJson, type ContainerConfig, type Descriptor, type HistoryEntry, type ImageConfig, type ImageManifest } from "../oci/image.js";
import { isGzipLayerMediaType, isUncompressedLayerMediaType, MediaType } from "../oci/media-types.js";

/**
 * Image assembly as a pure transform (go-containerregistry's `mutate`): base config + base layers,
 * plus appended layers and config changes, give new config bytes, manifest bytes and digests.
 * No I/O: layers are carried through untouched (their `open()` is never called here), so the same
 * result feeds a registry push, an OCI layout or a docker-archive.
 */

/** An image: parsed and raw manifest and config, and its layers in manifest order. */
export interface Image<L extends LayerInfo = LayerInfo> {
  readonly manifest: ImageManifest;
  readonly manifestBytes: Buffer;
  readonly manifestDigest: Sha256Digest;
  readonly config: ImageConfig;
  readonly configBytes: Buffer;
  readonly configDigest: Sha256Digest;
  readonly layers: readonly L[];
}

/** What a base contributes: its config and its layers (with diffIDs, in order). */
export interface BaseImage<L extends LayerInfo = LayerInfo> {
  readonly config: ImageConfig;
  readonly layers: readonly L[];
  /** Present when the base came from a registry or layout (the builder records it with `baseImageAnnotations`). */
  readonly manifestDigest?: Sha256Digest;
}

export interface AppendedLayer<L extends LayerInfo = LayerInfo> {
  layer: L;
  /** History for this layer: `created_by` (e.g. `flowpack: dependencies`), `comment`, `author`. */
  history?: Omit<HistoryEntry, "created" | "empty_layer">;
}

export interface ConfigChanges {
  /** Set (or replace) environment variables; base variables keep their order, new ones are appended. */
  env?: Record<string, string>;
  /** `null` clears it. Setting an entrypoint without `cmd` clears the base's Cmd (as Dockerfile ENTRYPOINT does). */
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  user?: string;
  workingDir?: string;
  /** Added to (or replacing) the base's labels. */
  labels?: Record<string, string>;
  /** Ports like `8080/tcp`. */
  exposedPorts?: string[];
  author?: string;
}

export interface AssembleOptions<L extends LayerInfo = LayerInfo> {
  layers?: AppendedLayer<L>[];
  changes?: ConfigChanges;
  /**
   * Creation time for the config and every new history entry. Default: `SOURCE_DATE_EPOCH`, else
   * the epoch (1970-01-01T00:00:00Z), so identical inputs give identical digests.
   */
  created?: Date | string;
  /** History entries for config-only changes (`empty_layer: true`), appended after the layers' entries. */
  configHistory?: Omit<HistoryEntry, "created" | "empty_layer">[];
  /** `oci` (default) or `docker` media types for the manifest and config. Base and appended tar layers are named in that family too. */
  format?: "oci" | "docker";
  /** Manifest annotations (e.g. `org.opencontainers.image.base.digest`). */
  annotations?: Record<string, string>;
}

function resolveCreated(created: Date | string | undefined): string {
  if (created === undefined) {
    return isoSeconds(new Date(sourceDateEpoch() * 1000));
  }
  const date = typeof created === "string" ? new Date(created) : created;
  if (Number.isNaN(date.getTime())) throw new ImageFormatError(`option created is not a valid date: ${String(created)}`);
  return typeof created === "string" ? created : isoSeconds(date);
}

/** RFC 3339 without fractional seconds when there are none: `1970-01-01T00:00:00Z`. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}

function checkStrings(values: unknown, what: string): void {
  if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
    throw new ImageFormatError(`${what} must be an array of strings`);
  }
}

function applyEnv(base: readonly string[], env: Record<string, string>): string[] {
  const out = [...base];
  for (const [key, value] of Object.entries(env)) {
    if (key.length === 0 || key.includes("=") || key.includes("\0")) {
      throw new ImageFormatError(`environment variable name ${JSON.stringify(key)} is invalid (non-empty, no '=')`);
    }
    if (typeof value !== "string") throw new ImageFormatError(`environment variable ${key} must be a string`);
    const entry = `${key}=${value}`;
    const at = out.findIndex((e) => e === key || e.startsWith(`${key}=`));
    if (at === -1) out.push(entry);
    else out[at] = entry;
  }
  return out;
}

function applyChanges(base: ContainerConfig | undefined, changes: ConfigChanges): ContainerConfig {
  const config: ContainerConfig = { ...(base ?? {}) };
  if (changes.env !== undefined) config.Env = applyEnv(config.Env ?? [], changes.env);
  if (changes.entrypoint !== undefined) {
    if (changes.entrypoint === null) delete config.Entrypoint;
    else {
      checkStrings(changes.entrypoint, "entrypoint");
      config.Entrypoint = [...changes.entrypoint];
    }
    if (changes.cmd === undefined) delete config.Cmd;
  }
  if (changes.cmd !== undefined) {
    if (changes.cmd === null) delete config.Cmd;
    else {
      checkStrings(changes.cmd, "cmd");
      config.Cmd = [...changes.cmd];
    }
  }
  if (changes.user !== undefined) config.User = changes.user;
  if (changes.workingDir !== undefined) {
    if (!changes.workingDir.startsWith("/")) {
      throw new ImageFormatError(`workingDir must be an absolute path (got ${JSON.stringify(changes.workingDir)})`);
    }
    config.WorkingDir = changes.workingDir;
  }
  if (changes.labels !== undefined) config.Labels = { ...(config.Labels ?? {}), ...changes.labels };
  if (changes.exposedPorts !== undefined) {
    const ports: Record<string, Record<string, unknown>> = { ...(config.ExposedPorts ?? {}) };
    for (const port of changes.exposedPorts) {
      if (!/^[0-9]{1,5}(?:\/(?:tcp|udp|sctp))?$/.test(port)) {
        throw new ImageFormatError(`exposed port ${JSON.stringify(port)} must look like 8080 or 8080/tcp`);
      }
      ports[port.includes("/") ? port : `${port}/tcp`] = {};
    }
    config.ExposedPorts = ports;
  }
  return config;
}

function layerMediaType(layer: LayerInfo, format: "oci" | "docker"): string {
  // Our layers are plain gzip tars: the same bytes are valid under either family's name.
  if (format === "docker" && layer.mediaType === MediaType.OCI_LAYER_GZIP) return MediaType.DOCKER_LAYER_GZIP;
  if (format === "oci" && layer.mediaType === MediaType.DOCKER_LAYER_GZIP) return MediaType.OCI_LAYER_GZIP;
  return layer.mediaType;
}

export function layerDescriptor(layer: LayerInfo, mediaType: string = layer.mediaType): Descriptor {
  return { mediaType, digest: layer.digest, size: layer.size };
}

/**
 * Base + appended layers + changes → a new image. Every gzip or plain tar layer takes the media type
 * of `format`'s family (the bytes are the same; strict readers such as umoci refuse mixed families). History gets one entry per appended layer (and
 * `configHistory` entries marked empty_layer), all stamped `created`.
 */
export function assembleImage<B extends LayerInfo, A extends LayerInfo = B>(
  base: BaseImage<B>,
  options: AssembleOptions<A> = {},
): Image<B | A> {
  const format = options.format ?? "oci";
  const created = resolveCreated(options.created);
  const appended = options.layers ?? [];
  const baseConfig = base.config;
  const baseDiffIds = baseConfig.rootfs.diff_ids;
  if (baseDiffIds.length !== base.layers.length) {
    throw new ImageFormatError(
      `base image config lists ${baseDiffIds.length} diff_ids but the base has ${base.layers.length} layers`,
    );
  }
  base.layers.forEach((layer, i) => {
    if (layer.diffId !== baseDiffIds[i]) {
      throw new ImageFormatError(`base layer ${i} (${layer.digest}) has diffID ${layer.diffId}, but the config says ${baseDiffIds[i]}`);
    }
  });
  for (const { layer } of appended) {
    if (!isGzipLayerMediaType(layer.mediaType) && !isUncompressedLayerMediaType(layer.mediaType)) {
      throw new ImageFormatError(`layer ${layer.digest} has media type ${layer.mediaType}, which is not a tar layer type`);
    }
  }

  let history: HistoryEntry[] = [...(baseConfig.history ?? [])];
  if (history.length === 0 && base.layers.length > 0) {
    // Some tools write no history; one entry per base layer keeps "non-empty history = layers" true.
    history = base.layers.map(() => (baseConfig.created === undefined ? {} : { created: baseConfig.created }));
  }
  for (const { history: entry } of appended) history.push({ ...(entry ?? {}), created });
  for (const entry of options.configHistory ?? []) history.push({ ...entry, created, empty_layer: true });

  const config: ImageConfig = {
    ...baseConfig,
    created,
    config: applyChanges(baseConfig.config, options.changes ?? {}),
    rootfs: { ...baseConfig.rootfs, type: "layers", diff_ids: [...baseDiffIds, ...appended.map(({ layer }) => layer.diffId)] },
    history,
  };
  if (options.changes?.author !== undefined) config.author = options.changes.author;
  const configBytes = canonicalJson(config);
  const configDigest = sha256(configBytes);

  const layers: (B | A)[] = [...base.layers, ...appended.map(({ layer }) => layer)];
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: format === "oci" ? MediaType.OCI_MANIFEST : MediaType.DOCKER_MANIFEST,
    config: {
      mediaType: format === "oci" ? MediaType.OCI_CONFIG : MediaType.DOCKER_CONFIG,
      digest: configDigest,
      size: configBytes.length,
    },
    layers: [
      ...base.layers.map((layer) => layerDescriptor(layer, layerMediaType(layer, format))),
      ...appended.map(({ layer }) => layerDescriptor(layer, layerMediaType(layer, format))),
    ],
  };
  if (options.annotations !== undefined && Object.keys(options.annotations).length > 0) {
    if (format === "docker") throw new ImageFormatError("Docker v2 manifests have no annotations; use format \"oci\"");
    manifest.annotations = { ...options.annotations };
  }
  const manifestBytes = canonicalJson(manifest);
  return {
    manifest,
    manifestBytes,
    manifestDigest: sha256(manifestBytes),
    config,
    configBytes,
    configDigest,
    layers,
  };
}

/** The annotations OCI defines for recording a base image (name should be a full reference). */
export function baseImageAnnotations(baseName: string, baseDigest: Sha256Digest): Record<string, string> {
  return {
    "org.opencontainers.image.base.name": baseName,
    "org.opencontainers.image.base.digest": baseDigest,
  };
}

/** An image from raw manifest and config bytes plus its layers (e.g. read back from a layout). */
export function imageFromParts<L extends LayerInfo>(parts: {
  manifest: ImageManifest;
  manifestBytes: Buffer;
  config: ImageConfig;
  configBytes: Buffer;
  layers: readonly L[];
}): Image<L> {
  return {
    ...parts,
    manifestDigest: sha256(parts.manifestBytes),
    configDigest: sha256(parts.configBytes),
  };
}
