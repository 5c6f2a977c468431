import { dirname, resolve } from "node:path";
import { defaultCacheDir } from "../../_internal/cache-dir.js";
import { FLOWPACK_VERSION } from "../../_internal/version.js";
import { isNativePackage, readPackage } from "../../bundle/packages.js";
import { installedClosure, NodeEnvironment } from "../../environment/node.js";
import { slugify } from "../../flow/name.js";
import { LOCAL_REPOSITORY, localImageName } from "./local-name.js";
import { formatPlatform, hostPlatform, platformMatches } from "../../oci/platform.js";
import type { Platform } from "../../oci/image.js";
import { PackagerOptionsError } from "../../errors.js";
import { baseManifest } from "../../manifest/registry.js";
import type { DockerManifestMetadata, DockerPackageManifest } from "../../manifest/schema.js";
import { ignoreProgress } from "../../progress.js";
import { runnerBundle } from "../../bundle/runner.js";
import type { Packager } from "../packager.js";
import { bundleTarget, metadataOf, shippableAssets, type BundledFlow, type PackageOptions, type PackageTarget } from "../source.js";
import { dependencyEntries } from "./dependencies.js";
import type { EngineBuilder } from "./engine-builder.js";
import type { OciBuilder } from "./oci-builder.js";
import { resolveDockerOptions, type DockerPackagerOptions, type ResolvedDockerOptions } from "./options.js";
import { gitInfo, type GitInfo } from "./git-info.js";
import { RepositoryHints } from "./repository-hint.js";
import { contentTag, defaultTag, planImage, type ImagePlan } from "./plan.js";


/**
 * Dependencies with native addons were built for this machine: refuse to put them in an image for
 * another platform (either builder), unless the image installs them itself.
 */
function checkNativePlatforms(platforms: Platform[], nativeDependencies: string[], mode: "copy" | "inImage"): void {
  const host = hostPlatform();
  const foreign = platforms.filter((p) => !platformMatches(p, host));
  if (mode === "inImage" || foreign.length === 0 || nativeDependencies.length === 0) return;
  const packages = nativeDependencies.join(", ");
  throw new PackagerOptionsError(
    `${packages} ${nativeDependencies.length === 1 ? "has a native addon" : "have native addons"} built for ${formatPlatform(host)}, not ${foreign.map(formatPlatform).join(", ")}`,
    { hint: "build on a machine of that platform, or use --builder docker --dependencies in-image" },
  );
}

export { LOCAL_REPOSITORY, localImageName };

/**
 * Builds a container image holding the flow and the runtime it needs, optionally pushes it, and
 * returns a digest-pinned DockerPackageManifest. `unpackage()` (inside the image) loads the flow
 * from `imageFlowLocation`. Two builders share one ImagePlan: a Docker Engine, or none (oci).
 */
export class DockerPackager implements Packager<DockerPackageManifest> {
  readonly type = "docker" as const;
  readonly options: ResolvedDockerOptions;
  /**
   * The oci builder, made on first use and kept: it remembers the base image it resolved. Loaded
   * then too: the registry client and the image writer are not needed to bundle the code, and a
   * one-shot `package` loads them while the flow is read (in its thread).
   */
  private oci: Promise<OciBuilder> | undefined;
  private readonly git = new Map<string, Promise<GitInfo>>();

  constructor(options: DockerPackagerOptions = {}) {
    this.options = resolveDockerOptions(options);
  }

  async package(target: PackageTarget, packageOptions: PackageOptions = {}): Promise<DockerPackageManifest> {
    const o = this.options;
    const progress = o.onProgress ?? ignoreProgress;
    const platforms = o.platforms ?? [hostPlatform()];
    const useOci = !o.dockerfile && o.builder !== "docker";
    // Labels for the image plan (with a Dockerfile of the user's there is none).
    const entryPath = resolve(typeof target === "string" ? target : (target.modulePath ?? "."));
    const gitLabels = () => this.gitInfo(dirname(entryPath));
    // Where the last push of this entry went (RepositoryHints): upload sessions open there as soon
    // as the code is bundled, while the flow is read, instead of once its name is known.
    const hints = useOci && o.registry ? new RepositoryHints(defaultCacheDir(o.env)) : undefined;
    const hinted = hints?.get(o.registry!.host, o.registry!.namespace, entryPath);
    let named = false;
    progress({ phase: "bundle", message: "bundling the flow" });
    // npm packages go to a vendor module of their own (cached while unchanged): a code-only change
    // re-bundles and re-uploads only the flow's own code. Once esbuild is at work, git is asked
    // for the image's labels; once the code is bundled, while the flow is read (in a thread of its
    // own), the oci builder loads and resolves the base image (from its cache, or the registry),
    // and undici loads for the push (whose first request, base image from the cache, is an upload).
    const bundled = await bundleTarget(target, {
      vendor: !o.dockerfile && { cacheDir: defaultCacheDir(o.env) },
      onBundlerStarted: () => {
        if (!o.dockerfile) void gitLabels();
      },
      ...packageOptions,
      onBundle: (bundle) => {
        packageOptions.onBundle?.(bundle);
        if (!useOci) return;
        this.ociBuilder()
          .then((oci) => {
            oci.prefetch(o.baseImage!, platforms);
            if (o.registry) oci.loadTransport();
            void hinted?.then((repository) => {
              if (repository && !named) oci.prepare(o.registry!, repository, { guess: true });
            });
          })
          .catch(() => undefined); // build() below reports it
      },
    });
    const oci = useOci ? await this.ociBuilder() : undefined;
    const { flow, bundle } = bundled;
    for (const warning of bundle.warnings) progress({ phase: "warning", message: warning });
    const metadata: DockerManifestMetadata = { ...metadataOf(bundle), builder: o.builder };
    const repository = o.registry ? [o.registry.namespace, slugify(flow.name)].filter(Boolean).join("/") : undefined;
    const localName = (tag: string) => localImageName(flow.name, tag);
    // Upload sessions for the config and app layer open while the image is planned (one round trip fewer).
    named = true;
    if (oci && o.registry && repository && o.builder !== "docker") oci.prepare(o.registry, repository);

    let image: string;
    if (o.dockerfile) {
      const builder = await this.engine();
      const imageId = await builder.buildDockerfile(o.dockerfile, o.context ?? dirname(o.dockerfile));
      const tag = o.tag ?? defaultTag(imageId);
      image = await this.publishFromDaemon(builder, imageId, tag, localName(tag), repository, metadata);
    } else {
      const { plan, entries, nativeDependencies } = await this.plan(bundled, await gitLabels());
      checkNativePlatforms(platforms, nativeDependencies, o.dependencies);
      metadata.baseImage = plan.baseImage;
      if (o.builder === "docker") {
        const builder = await this.engine();
        const imageId = await builder.buildPlan(plan, entries);
        // Engine images are content-addressed by their config: unchanged inputs hit the build
        // cache and give the same ID, so the tag derived from it is stable too.
        const tag = o.tag ?? defaultTag(imageId);
        image = await this.publishFromDaemon(builder, imageId, tag, localName(tag), repository, metadata);
        if (o.platforms) metadata.platforms = o.platforms.map(formatPlatform);
      } else {
        const tag = o.tag ?? contentTag(plan);
        const result = await oci!.build({
          plan,
          dependencyEntries: entries,
          base: plan.baseImage,
          platforms,
          tag,
          localName: localName(tag),
          outputs: {
            ...(o.registry && repository ? { registry: { target: o.registry, repository } } : {}),
            ...(o.ociLayout ? { ociLayout: o.ociLayout } : {}),
            ...(o.dockerArchive ? { dockerArchive: o.dockerArchive } : {}),
            daemon: !o.registry && !o.ociLayout && !o.dockerArchive,
          },
        });
        image = result.image;
        if (hints && repository && (await hinted) !== repository) await hints.set(o.registry!.host, o.registry!.namespace, entryPath, repository);
        Object.assign(metadata, {
          tag,
          baseImage: result.baseName,
          ...(result.baseDigest ? { baseImageDigest: result.baseDigest } : {}),
          platforms: result.platforms,
          layers: result.layers,
          ...(result.bytesUploaded !== undefined ? { bytesUploaded: result.bytesUploaded } : {}),
        });
      }
    }
    return baseManifest("docker", flow).finalize({ image, imageFlowLocation: o.imageFlowLocation, metadata });
  }

  /**
   * The git labels of the repository holding `dir`, asked once per packager: two `git` processes
   * cost more than a `--watch` rebuild's own work.
   */
  private gitInfo(dir: string): Promise<GitInfo> {
    let info = this.git.get(dir);
    if (!info) {
      info = gitInfo(dir);
      this.git.set(dir, info);
    }
    return info;
  }

  private ociBuilder(): Promise<OciBuilder> {
    const o = this.options;
    this.oci ??= import("./oci-builder.js").then(({ OciBuilder }) => new OciBuilder(o.env, o.onProgress, undefined, { stepTimeoutMs: o.registryTimeoutMs }));
    return this.oci;
  }

  private async engine(): Promise<EngineBuilder> {
    const o = this.options;
    const { EngineBuilder } = await import("./engine-builder.js");
    return EngineBuilder.connect({ platform: o.platforms?.[0] && formatPlatform(o.platforms[0]), onProgress: o.onProgress, env: o.env });
  }

  /** The image plan, shared by both builders; dependencies as installed on this machine. */
  private async plan({ flow, bundle }: BundledFlow, git: GitInfo): Promise<{ plan: ImagePlan; entries: Awaited<ReturnType<typeof dependencyEntries>>; nativeDependencies: string[] }> {
    const o = this.options;
    const environment = o.environment ?? NodeEnvironment.fromEnvironment(bundle.projectRoot, bundle.externals);
    const dependencies = o.dependencies === "copy" ? installedClosure(bundle.projectRoot, bundle.externals) : [];
    // Files beside the code go into the app layer; credentials never do (named, not shipped).
    const { assets, leftOut } = shippableAssets(bundle);
    if (leftOut.length > 0) {
      (o.onProgress ?? ignoreProgress)({ phase: "warning", message: `left out of the app layer: ${leftOut.map((a) => a.path).join(", ")}: credentials never ship` });
    }
    const plan = planImage({
      bundle: { ...bundle, assets },
      git,
      flowName: flow.name,
      baseImage: o.baseImage!,
      imageFlowLocation: o.imageFlowLocation,
      environment,
      dependencies,
      dependencyMode: o.dependencies,
      runner: await runnerBundle(),
      flowpackVersion: FLOWPACK_VERSION,
      salt: `${o.builder}:${(o.platforms ?? []).map(formatPlatform).join(",")}`,
    });
    const nativeDependencies = dependencies.filter((d) => {
      const pkg = readPackage(d.dir);
      return pkg !== undefined && isNativePackage(pkg);
    });
    return { plan, entries: await dependencyEntries(plan.dependencies, plan.appDir, { projectRoot: bundle.projectRoot, onProgress: o.onProgress }), nativeDependencies: nativeDependencies.map((d) => d.name) };
  }

  /** Keeps a local name for the image, pushes it when a registry is given; returns the manifest's image. */
  private async publishFromDaemon(
    builder: EngineBuilder,
    imageId: string,
    tag: string,
    localName: string,
    repository: string | undefined,
    metadata: DockerManifestMetadata,
  ): Promise<string> {
    // A local name keeps the image (and the build cache's last step) when the push's temporary tag goes.
    const [localRepository] = localName.split(":");
    await builder.tagLocal(imageId, localRepository!, tag);
    metadata.tag = tag;
    const registry = this.options.registry;
    if (!registry || !repository) return imageId;
    const remote = `${registry.host}/${repository}`;
    (this.options.onProgress ?? ignoreProgress)({ phase: "push", message: `pushing ${remote}:${tag}` });
    const digest = await builder.push(imageId, remote, tag, registry.host);
    return `${remote}:${tag}@${digest}`;
  }
}
