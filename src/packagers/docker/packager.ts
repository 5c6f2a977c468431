import { dirname } from "node:path";
import { FLOWPACK_VERSION } from "../../_internal/version.js";
import { installedClosure, NodeEnvironment } from "../../environment/node.js";
import { slugify } from "../../flow/name.js";
import { baseManifest } from "../../manifest/registry.js";
import type { DockerPackageManifest } from "../../manifest/schema.js";
import { ignoreProgress } from "../../progress.js";
import { runnerBundle } from "../../run/runner-bundle.js";
import { metadataOf } from "../file.js";
import type { Packager } from "../packager.js";
import { bundleTarget, type PackageOptions, type PackageTarget } from "../source.js";
import { dependencyEntries } from "./dependencies.js";
import { EngineBuilder } from "./engine-builder.js";
import { resolveDockerOptions, type DockerPackagerOptions, type ResolvedDockerOptions } from "./options.js";
import { contentTag, planImage } from "./plan.js";

/** Local repository that keeps every image flowpack builds through a daemon: `flowpack/<flow>:<tag>`. */
export const LOCAL_REPOSITORY = "flowpack";

/**
 * Builds a container image holding the flow and the runtime it needs, optionally pushes it, and
 * returns a digest-pinned DockerPackageManifest. `unpackage()` (inside the image) loads the flow
 * from `imageFlowLocation`.
 */
export class DockerPackager implements Packager<DockerPackageManifest> {
  readonly type = "docker" as const;
  readonly options: ResolvedDockerOptions;

  constructor(options: DockerPackagerOptions = {}) {
    this.options = resolveDockerOptions(options);
  }

  async package(target: PackageTarget, packageOptions: PackageOptions = {}): Promise<DockerPackageManifest> {
    const o = this.options;
    const progress = o.onProgress ?? ignoreProgress;
    progress({ phase: "bundle", message: "bundling the flow" });
    const { flow, bundle } = await bundleTarget(target, packageOptions);
    const builder = await EngineBuilder.connect({ platform: o.platform, onProgress: o.onProgress, env: o.env });

    let imageId: string;
    let tag: string;
    const metadata: Record<string, unknown> = { ...metadataOf(bundle), builder: "docker", createdBy: `flowpack@${FLOWPACK_VERSION}` };
    if (o.dockerfile) {
      progress({ phase: "build", message: `building ${o.dockerfile}` });
      imageId = await builder.buildDockerfile(o.dockerfile, o.context ?? dirname(o.dockerfile));
      tag = o.tag ?? `fp-${imageId.replace(/^sha256:/, "").slice(0, 20)}`;
    } else {
      const environment = o.environment ?? NodeEnvironment.fromEnvironment(bundle.projectRoot, bundle.externals);
      const dependencies = o.dependencies === "copy" ? installedClosure(bundle.projectRoot, bundle.externals) : [];
      const plan = planImage({
        bundle,
        flowName: flow.name,
        baseImage: o.baseImage!,
        imageFlowLocation: o.imageFlowLocation,
        environment,
        dependencies,
        dependencyMode: o.dependencies,
        runner: await runnerBundle(),
        flowpackVersion: FLOWPACK_VERSION,
        salt: o.platform,
      });
      progress({ phase: "build", message: `building on ${plan.baseImage}` });
      imageId = await builder.buildPlan(plan, await dependencyEntries(plan.dependencies, plan.appDir));
      tag = o.tag ?? contentTag(plan);
      metadata.baseImage = plan.baseImage;
      metadata.environment = environment.toJSON();
    }
    if (o.platform) metadata.platforms = [o.platform];
    // A local name keeps the image (and the build cache's last step) when the push's temporary tag goes.
    await builder.tagLocal(imageId, `${LOCAL_REPOSITORY}/${slugify(flow.name)}`, tag);

    let image = imageId;
    if (o.registry) {
      const repository = [o.registry.host, o.registry.namespace, slugify(flow.name)].filter(Boolean).join("/");
      progress({ phase: "push", message: `pushing ${repository}:${tag}` });
      const digest = await builder.push(imageId, repository, tag, o.registry.host);
      image = `${repository}:${tag}@${digest}`;
      metadata.tag = tag;
    }
    return baseManifest("docker", flow).finalize({ image, imageFlowLocation: o.imageFlowLocation, metadata });
  }
}
