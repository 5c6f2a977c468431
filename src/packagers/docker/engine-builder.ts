import { relativePosix } from "../../_internal/fs.js";
import type Docker from "dockerode";
import dockerignore from "@balena/dockerignore";
import { readFileSync, existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { LayerError } from "../../errors.js";
import { buildImage } from "../../engine/build.js";
import { connectDaemon } from "../../engine/client.js";
import { renderBuild } from "./dockerfile.js";
import { pushImage } from "../../engine/push.js";
import type { LayerEntry } from "../../image/layer.js";
import { directoryEntries } from "../../image/layer-directory.js";
import { buildLayer } from "../../image/layer-writer.js";
import { DockerKeychain } from "../../registry/keychain.js";
import type { ProgressListener } from "../../progress.js";
import type { ImagePlan } from "./plan.js";

export interface EngineBuildInput {
  platform?: string;
  onProgress?: ProgressListener;
  env: NodeJS.ProcessEnv;
}

/** Builds through a Docker Engine: the plan rendered as a Dockerfile, or the user's own Dockerfile. */
export class EngineBuilder {
  private constructor(readonly docker: Docker, private readonly input: EngineBuildInput) {}

  static async connect(input: EngineBuildInput): Promise<EngineBuilder> {
    return new EngineBuilder(await connectDaemon(input.env), input);
  }

  /** Builds the plan; returns the local image ID. */
  async buildPlan(plan: ImagePlan, dependencyEntries: LayerEntry[]): Promise<string> {
    const { context } = renderBuild(plan, dependencyEntries);
    return this.build(context, "Dockerfile");
  }

  /**
   * Builds a user's Dockerfile with `contextDir` as context (honouring its .dockerignore). Like
   * `docker build`, a symlink is sent as the link itself, whatever it points to (pnpm's
   * `node_modules/.bin`, a workspace package linked from outside the folder): the build decides
   * what a COPY of it means.
   */
  async buildDockerfile(dockerfile: string, contextDir: string): Promise<string> {
    const dockerfilePath = relativePosix(contextDir, dockerfile);
    const ignored = dockerignoreFilter(contextDir);
    const links: string[] = [];
    let entries: LayerEntry[];
    try {
      ({ entries } = await directoryEntries(contextDir, {
        filter: (path, stats) => {
          if (!(path === dockerfilePath || path === ".dockerignore" || ignored(path))) return false;
          if (stats.isSymbolicLink()) links.push(path);
          return !stats.isSymbolicLink();
        },
      }));
    } catch (error) {
      if (!(error instanceof LayerError)) throw error;
      throw new LayerError(error.message, { hint: `leave it out of the build context with a line in ${join(contextDir, ".dockerignore")}`, cause: error });
    }
    for (const path of links) {
      entries.push({ path, type: "symlink", mode: 0o777, linkTarget: readlinkSync(join(contextDir, ...path.split("/"))) });
    }
    if (dockerfilePath.startsWith("../")) {
      // The Dockerfile lives outside the context: send it along under a private name.
      entries.push({ path: ".flowpack.Dockerfile", type: "file", mode: 0o644, content: readFileSync(dockerfile) });
      return this.build(entries, ".flowpack.Dockerfile");
    }
    return this.build(entries, dockerfilePath);
  }

  private async build(context: LayerEntry[], dockerfile: string): Promise<string> {
    const tar = await buildLayer(context);
    return buildImage(this.docker, tar.open(), {
      dockerfile,
      platform: this.input.platform,
      onProgress: this.input.onProgress,
    });
  }

  async tagLocal(imageId: string, repository: string, tag: string): Promise<void> {
    await this.docker.getImage(imageId).tag({ repo: repository, tag });
  }

  /** Pushes through the Engine with credentials from the docker config; returns the manifest digest. */
  async push(imageId: string, repository: string, tag: string, registryHost: string): Promise<string> {
    const credentials = await new DockerKeychain({ env: this.input.env }).resolve(registryHost);
    return pushImage(this.docker, imageId, repository, tag, { credentials, registryHost, onProgress: this.input.onProgress });
  }
}

/** `.dockerignore` as a keep-filter over POSIX paths relative to the context. */
function dockerignoreFilter(contextDir: string): (path: string) => boolean {
  const file = `${contextDir}/.dockerignore`;
  if (!existsSync(file)) return () => true;
  // CommonJS module whose typings claim an ES default export.
  type Create = (options: { ignorecase: boolean }) => { add(patterns: string): { createFilter(): (path: string) => boolean } };
  const module = dockerignore as unknown as Create & { default?: Create };
  const create = module.default ?? module;
  const filter = create({ ignorecase: false }).add(readFileSync(file, "utf8")).createFilter();
  return (path) => filter(path);
}
