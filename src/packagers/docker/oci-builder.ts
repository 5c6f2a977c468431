import { resolve } from "node:path";
import type { Sha256Digest } from "../../oci/digest.js";
import { defaultCacheDir } from "../../_internal/cache-dir.js";
import { onPath } from "../../_internal/fs-errors.js";
import { sha256 } from "../../oci/compute-digest.js";
import { connectDaemon } from "../../engine/client.js";
import { DaemonUnreachableError, PackagerOptionsError } from "../../errors.js";
import { loadImage } from "../../engine/load.js";
import { writeDockerArchive } from "../../image/docker-archive.js";
import { hostBaseImage } from "../../image/host-base.js";
import { assembleImage, baseImageAnnotations, type BaseImage, type Image } from "../../image/image.js";
import { entriesKey } from "../../image/entries-key.js";
import { LayerCache } from "../../image/layer-cache.js";
import type { Layer, LayerEntry } from "../../image/layer.js";
import { buildLayer } from "../../image/layer-writer.js";
import { readImageFromLayout, writeImageToLayout } from "../../image/layout.js";
import { MediaType } from "../../oci/media-types.js";
import { canonicalJson, type Platform } from "../../oci/image.js";
import { formatPlatform, hostPlatform, platformMatches } from "../../oci/platform.js";
import { parseReference } from "../../oci/reference.js";
import { readRemoteImage } from "../../image/remote.js";
import { RegistryClient } from "../../registry/client.js";
import { preloadHttp } from "../../registry/http.js";
import { FileBlobRecord, type BlobRecord } from "../../registry/blob-record.js";
import type { UploadSessions } from "../../registry/upload-sessions.js";
import { BaseImageCache, baseTtlMs } from "../../image/base-cache.js";
import { DockerKeychain } from "../../registry/keychain.js";
import type { RegistryProgressEvent as RegistryProgress } from "../../registry/progress.js";
import { ignoreProgress, type ProgressListener } from "../../progress.js";
import { dependencyLayerKey } from "./dependencies.js";
import { DOCKER_ARCHIVE_ROLE, OCI_LAYOUT_ROLE, type RegistryTarget } from "./options.js";
import type { ImagePlan } from "./plan.js";

/** Where the image goes. Several may be given; at least one is needed. */
export interface OciOutputs {
  registry?: { target: RegistryTarget; repository: string };
  ociLayout?: string;
  dockerArchive?: string;
  /** Load into the Docker daemon (DOCKER_HOST). */
  daemon?: boolean;
}

export interface OciBuildRequest {
  plan: ImagePlan;
  dependencyEntries: LayerEntry[];
  /** A registry reference, `oci:<dir>[:<ref name>]`, or `host`. */
  base: string;
  platforms: Platform[];
  tag: string;
  localName: string;
  outputs: OciOutputs;
}

export interface OciBuildResult {
  /** The manifest's `image` field. */
  image: string;
  /** The manifest (one platform) or index digest. */
  digest: Sha256Digest;
  baseName: string;
  baseDigest: string | undefined;
  platforms: string[];
  layers: { runner: Sha256Digest; dependencies?: Sha256Digest; vendor?: Sha256Digest; app: Sha256Digest };
  bytesUploaded: number | undefined;
}

interface ResolvedBase {
  image: BaseImage<Layer>;
  name: string;
  digest: Sha256Digest | undefined;
  /** Where its blobs live, for cross-repository mounts. */
  source?: { registry: string; repository: string };
}

/**
 * The daemonless builder: writes the dependency and app layers itself (deterministically), puts
 * them on a base image read from a registry, an OCI layout or this host, and publishes the result
 * to a registry (base layers mounted, never downloaded to be re-uploaded), an OCI layout, a
 * docker-archive tarball, or a daemon.
 */
export class OciBuilder {
  /** Base images being resolved, by reference and platform (see prefetch). */
  private readonly bases = new Map<string, Promise<ResolvedBase>>();
  /** One client per registry, so the base's registry and the target share connections and tokens. */
  private readonly clients = new Map<string, RegistryClient>();
  /** Upload sessions opened ahead for the next push, by registry and repository (see prepare). */
  private readonly sessions = new Map<string, UploadSessions>();
  /** The key of the sessions the last prepare() opened on a guess of the repository, until the next prepare(). */
  private guessed: string | undefined;
  private readonly record: BlobRecord;
  private readonly baseCache: BaseImageCache | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly onProgress: ProgressListener = ignoreProgress,
    private readonly cache: LayerCache = new LayerCache(defaultCacheDir(env), (message) => onProgress({ phase: "warning", message })),
    /** Registry step deadline (ms); undefined: the client's default. */
    private readonly registry: { stepTimeoutMs?: number | undefined } = {},
  ) {
    const dir = defaultCacheDir(env);
    this.record = new FileBlobRecord(dir);
    const ttlMs = baseTtlMs(env);
    if (ttlMs === undefined) {
      throw new PackagerOptionsError(`FLOWPACK_BASE_TTL must be a number of seconds ≥ 0, not "${env.FLOWPACK_BASE_TTL}"`, {
        hint: "unset it for the default (60), or 0 to resolve the base image's tag on every build",
      });
    }
    this.baseCache = new BaseImageCache(dir, ttlMs);
  }

  /**
   * Opens upload sessions in the target repository now, while the image is being planned: a
   * code-only change uploads two blobs (config and app layer), each then one PUT on the critical
   * path instead of POST + PUT. Sessions left unused are deleted after the push. `guess`: the
   * repository is only likely (the flow's name is not known yet); the next prepare() for another
   * repository deletes these sessions.
   */
  prepare(target: RegistryTarget, repository: string, options: { guess?: boolean } = {}): void {
    const client = this.client(target.host, target);
    const key = `${client.endpoint.name}/${repository}`;
    // Sessions opened on a guess (see RepositoryHints) where the image does not go after all: deleted.
    const guessed = this.guessed;
    this.guessed = options.guess ? key : undefined;
    if (guessed !== undefined && guessed !== key) {
      void this.sessions.get(guessed)?.close().catch(() => undefined);
      this.sessions.delete(guessed);
    }
    if (this.sessions.has(key)) return;
    try {
      this.sessions.set(key, client.openUploadSessions(repository, 2));
    } catch {
      // an invalid repository name: the push reports it
    }
  }

  /**
   * Starts resolving the base image for each platform now, so that it happens while the flow is
   * being bundled; build() picks the results up. A failure surfaces from build(), not here.
   */
  prefetch(base: string, platforms: Platform[]): void {
    for (const platform of platforms) this.base(base, platform).catch(() => undefined);
  }

  /** Loads the registry client's HTTP stack now, for a push to come (see preloadHttp). */
  loadTransport(): void {
    preloadHttp();
  }

  private base(reference: string, platform: Platform): Promise<ResolvedBase> {
    const key = `${reference}\n${formatPlatform(platform)}`;
    let resolved = this.bases.get(key);
    if (!resolved) {
      resolved = this.resolveBase(reference, platform);
      this.bases.set(key, resolved);
    }
    return resolved;
  }

  async build(request: OciBuildRequest): Promise<OciBuildResult> {
    const { plan, outputs } = request;
    if (!outputs.registry && !outputs.ociLayout && !outputs.dockerArchive && !outputs.daemon) {
      throw new PackagerOptionsError("the oci builder needs somewhere to put the image", {
        hint: "give --registry URL, --oci-layout DIR or --docker-archive FILE",
      });
    }
    if (request.platforms.length > 1) {
      const single = [outputs.ociLayout && "--oci-layout", outputs.dockerArchive && "--docker-archive", outputs.daemon && "the Docker daemon"].filter(
        (name): name is string => typeof name === "string",
      );
      if (single.length > 0) {
        throw new PackagerOptionsError(
          `${single.join(", ")} ${single.length === 1 ? "holds" : "hold"} one platform; several platforms (${request.platforms.map(formatPlatform).join(", ")}) go to --registry only`,
          { hint: "give --registry URL alone, or one --platform" },
        );
      }
    }

    const progress = this.onProgress;
    let dependencies: Layer | undefined;
    if (request.dependencyEntries.length > 0) {
      const { layer, cached } = await this.cache.layer(dependencyLayerKey(plan.dependencySelection, request.dependencyEntries), () => request.dependencyEntries);
      dependencies = layer;
      progress({ phase: "layer", message: `dependencies ${short(layer.digest)} (${cached ? "cached" : "built"}, ${layer.size} bytes)` });
    }
    // The runner changes only with flowpack itself, the vendored packages only with them: registries
    // skip both layers on code changes, and the cache saves gzipping the vendor module again.
    const { layer: runner } = await this.cache.layer(entriesKey("runner", plan.runnerFiles), () => plan.runnerFiles);
    let vendor: Layer | undefined;
    if (plan.vendorFiles.length > 0) {
      const { layer, cached } = await this.cache.layer(entriesKey("vendor", plan.vendorFiles), () => plan.vendorFiles);
      vendor = layer;
      progress({ phase: "layer", message: `vendor ${short(layer.digest)} (${cached ? "cached" : "built"}, ${layer.size} bytes)` });
    }
    const app = await buildLayer(plan.appFiles);
    progress({ phase: "layer", message: `app ${short(app.digest)} (${app.size} bytes)` });

    const images: { platform: Platform; image: Image<Layer>; base: ResolvedBase }[] = [];
    for (const platform of request.platforms) {
      const base = await this.base(request.base, platform);
      progress({ phase: "base", message: `${base.name}${base.digest ? `@${base.digest}` : ""} (${formatPlatform(platform)})` });
      const image = assembleImage<Layer>(base.image, {
        layers: [
          { layer: runner, history: { created_by: "flowpack: runner" } },
          ...(dependencies ? [{ layer: dependencies, history: { created_by: "flowpack: dependencies", comment: plan.dependencies.map((d) => `${d.name}@${d.version}`).join(" ") } }] : []),
          ...(vendor ? [{ layer: vendor, history: { created_by: "flowpack: vendored packages" } }] : []),
          { layer: app, history: { created_by: "flowpack: app (bundle)" } },
        ],
        changes: {
          env: plan.env,
          entrypoint: plan.entrypoint,
          cmd: [],
          user: plan.user,
          workingDir: plan.workingDir,
          labels: { ...plan.labels, ...(base.digest ? { "org.opencontainers.image.base.digest": base.digest } : {}) },
        },
        annotations: base.digest ? baseImageAnnotations(base.name, base.digest) : undefined,
      });
      images.push({ platform, image, base });
    }

    const first = images[0]!;
    const index = images.length > 1 ? imageIndex(images) : undefined;
    const digest = index ? index.digest : first.image.manifestDigest;
    let image: string | undefined;
    let bytesUploaded: number | undefined;

    if (outputs.registry) {
      const { target, repository } = outputs.registry;
      bytesUploaded = await this.push(images, index, target, repository, request.tag);
      image = `${target.host}/${repository}:${request.tag}@${digest}`;
    }
    if (outputs.ociLayout) {
      const dir = resolve(outputs.ociLayout);
      await onPath(dir, OCI_LAYOUT_ROLE, () => writeImageToLayout(dir, first.image, { refName: request.tag }));
      progress({ phase: "write", message: `OCI layout ${dir} (${request.tag})` });
      image ??= `oci:${dir}@${digest}`;
    }
    if (outputs.daemon) {
      await this.load(first.image, request.localName);
      image ??= first.image.configDigest;
    }
    if (outputs.dockerArchive) {
      const file = resolve(outputs.dockerArchive);
      await onPath(file, DOCKER_ARCHIVE_ROLE, () => writeDockerArchive(first.image, file, { repoTags: [request.localName] }));
      progress({ phase: "write", message: `docker archive ${file}` });
      image ??= `docker-archive:${file}@${first.image.configDigest}`;
    }
    return {
      image: image!,
      digest,
      baseName: first.base.name,
      baseDigest: first.base.digest,
      platforms: request.platforms.map(formatPlatform),
      layers: { runner: runner.digest, ...(dependencies ? { dependencies: dependencies.digest } : {}), ...(vendor ? { vendor: vendor.digest } : {}), app: app.digest },
      bytesUploaded,
    };
  }

  private async resolveBase(reference: string, platform: Platform): Promise<ResolvedBase> {
    if (reference === "host") {
      if (!platformMatches(platform, hostPlatform())) {
        throw new PackagerOptionsError(`--base-image host builds for this machine (${formatPlatform(hostPlatform())}) only, not ${formatPlatform(platform)}`);
      }
      const base = await hostBaseImage(this.cache);
      return { image: base, name: base.name, digest: undefined };
    }
    if (reference.startsWith("oci:")) {
      const { dir, refName } = parseLayoutReference(reference.slice("oci:".length));
      const image = await readImageFromLayout(dir, { refName, platform });
      return { image, name: reference, digest: image.manifestDigest };
    }
    const ref = parseReference(reference);
    const client = this.client(ref.registry, { insecure: false, secure: false });
    const image = await readRemoteImage(client, ref.path, ref.digest ?? ref.tag ?? "latest", platform, this.baseCache);
    return {
      image,
      name: reference,
      digest: image.manifestDigest,
      source: { registry: client.endpoint.name, repository: ref.path },
    };
  }

  private client(host: string, { insecure, secure }: Pick<RegistryTarget, "insecure" | "secure">): RegistryClient {
    const key = `${host}\n${insecure}\n${secure}`;
    let client = this.clients.get(key);
    if (!client) {
      client = this.newClient(host, { insecure, secure });
      this.clients.set(key, client);
    }
    return client;
  }

  private newClient(host: string, { insecure, secure }: Pick<RegistryTarget, "insecure" | "secure">): RegistryClient {
    return new RegistryClient({
      host,
      insecure,
      secure,
      keychain: new DockerKeychain({ env: this.env }),
      ...(this.registry.stepTimeoutMs !== undefined ? { retry: { stepTimeoutMs: this.registry.stepTimeoutMs } } : {}),
      onProgress: (event) => this.onProgress(toProgress(event)),
    });
  }

  /** Blobs first, manifest(s) last; base layers mounted from the base's repository when it is on the same registry. */
  private async push(
    images: { image: Image<Layer>; base: ResolvedBase }[],
    index: { bytes: Buffer; digest: Sha256Digest } | undefined,
    target: RegistryTarget,
    repository: string,
    tag: string,
  ): Promise<number> {
    const client = this.client(target.host, target);
    const registry = client.endpoint.name;
    const sessionKey = `${registry}/${repository}`;
    const sessions = this.sessions.get(sessionKey);
    this.sessions.delete(sessionKey);
    // Blobs this machine already pushed there are not asked about again; the registry refusing the
    // manifest refutes the record (then every blob is checked), so the tag never names a missing blob.
    const known = new Set(await this.record.known(registry, repository));
    let bytes = 0;
    for (const [i, { image, base }] of images.entries()) {
      const mountFrom = base.source && base.source.registry === client.endpoint.name ? base.source.repository : undefined;
      const baseLayers = new Set<string>(base.image.layers.map((layer) => layer.digest));
      const result = await client.pushManifest(repository, index ? image.manifestDigest : tag, {
        known,
        onRecordRefuted: async () => {
          known.clear();
          await this.record.forget(registry, repository);
        },
        // small blobs of our own: a base layer, however small, is mounted rather than re-uploaded
        uploadWithoutHead: (blob) => blob.size <= SMALL_BLOB_BYTES && !baseLayers.has(blob.digest),
        ...(sessions && i === 0 ? { sessions } : {}),
        manifest: image.manifestBytes,
        mediaType: image.manifest.mediaType ?? MediaType.OCI_MANIFEST,
        blobs: [
          { digest: image.configDigest, size: image.configBytes.length, body: () => image.configBytes },
          ...image.layers.map((layer) => ({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, body: () => layer.open() })),
        ],
        ...(mountFrom ? { mountFrom } : {}),
      });
      bytes += result.bytesSent;
      await this.record.add(registry, repository, result.blobs.map((b) => b.digest));
      for (const blob of result.blobs) known.add(blob.digest);
      const uploaded = result.blobs.filter((b) => b.status === "uploaded").length;
      this.onProgress({ phase: "push", message: `${repository}@${short(image.manifestDigest)}: ${uploaded} of ${result.blobs.length} blobs uploaded (${result.bytesSent} bytes), the rest already there` });
    }
    if (index) {
      await client.putManifest(repository, tag, index.bytes, MediaType.OCI_INDEX);
    }
    return bytes;
  }

  private async load(image: Image<Layer>, name: string): Promise<void> {
    let docker: Awaited<ReturnType<typeof connectDaemon>>;
    try {
      docker = await connectDaemon(this.env);
    } catch (error) {
      if (!(error instanceof DaemonUnreachableError)) throw error;
      throw new DaemonUnreachableError(`${error.message} (with no --registry, --oci-layout or --docker-archive, the image goes to the daemon)`, {
        hint: "give --registry URL, --oci-layout DIR or --docker-archive FILE, or start Docker",
      });
    }
    await loadImage(docker, image, name);
    this.onProgress({ phase: "load", message: `loaded ${name} into the Docker daemon` });
  }
}

/**
 * Blobs up to this size are uploaded without a HEAD first: a config or a code-only app layer is new
 * on every change, and for a small blob an upload into a session opened ahead costs one round trip,
 * like the HEAD that would find it.
 */
const SMALL_BLOB_BYTES = 256 * 1024;

/** `oci:<dir>[:<ref name>]` — a trailing `:name` (without `/`) names the image in the layout. */
export function parseLayoutReference(value: string): { dir: string; refName: string | undefined } {
  const colon = value.lastIndexOf(":");
  if (colon > 0 && !value.slice(colon + 1).includes("/")) return { dir: value.slice(0, colon), refName: value.slice(colon + 1) };
  return { dir: value, refName: undefined };
}

function imageIndex(images: { platform: Platform; image: Image<Layer> }[]): { bytes: Buffer; digest: Sha256Digest } {
  const bytes = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: images.map(({ platform, image }) => ({
      mediaType: image.manifest.mediaType ?? MediaType.OCI_MANIFEST,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      platform,
    })),
  });
  return { bytes, digest: sha256(bytes) };
}

function short(digest: string): string {
  return digest.slice("sha256:".length, "sha256:".length + 12);
}

function toProgress(event: RegistryProgress): ProgressEvent {
  if (event.type === "retry") {
    return { phase: "retry", message: `${event.step} (attempt ${event.attempt} failed: ${event.reason}; again in ${Math.round(event.delayMs)} ms)` };
  }
  const id = short(event.digest);
  switch (event.type) {
    case "start":
      return { phase: "push", id, message: `${id}: uploading`, current: 0, total: event.size };
    case "progress":
      return { phase: "push", id, message: `${id}: uploading`, current: event.bytes, total: event.size };
    case "skip":
      return { phase: "push", id, message: `${id}: already there` };
    case "mount":
      return { phase: "push", id, message: `${id}: mounted from ${event.from}` };
    case "done":
      return { phase: "push", id, message: `${id}: pushed`, current: event.size, total: event.size };
  }
}

type ProgressEvent = Parameters<ProgressListener>[0];
