import type { FlowEnv } from "../_internal/env-vars.js";
import { ContainerRunError, InterruptedError, ManifestError } from "../errors.js";
import { engineApi } from "../engine/api.js";
import { runContainerApi } from "../engine/container-run.js";
import { parseReference } from "../oci/reference.js";
import type { DockerPackageManifest } from "../manifest/schema.js";
import { localImageName } from "../packagers/docker/local-name.js";
import { DockerKeychain } from "../registry/keychain.js";
import { containerRunnerEnv } from "../manifest/runner-env.js";
import { stopSignalOf } from "../_internal/stop.js";
import { errorFromRecord, type ErrorRecord } from "./error-record.js";
import { imageSource, layoutTag } from "./image-source.js";
import type { RunRecord } from "./local.js";

export interface DockerRunOptions {
  /** Docker network mode for the container (`none`, `host`, `bridge`, …). */
  network?: string;
  /** Where the container's stderr (the flow's logs) goes. Default: this process's stderr. */
  onLog?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /** This side's environment, where the daemon (DOCKER_HOST, TLS) and registry credentials are found. Default: process.env. */
  hostEnv?: NodeJS.ProcessEnv;
  /** The flow's environment: set in the container (where `docker inspect` shows it while it runs), never logged. */
  env?: FlowEnv;
  /**
   * Run a registry image the manifest names by tag only (no `@sha256:` digest). Off by default: a
   * manifest promises the image that was packaged, and a tag can move.
   */
  allowUnpinned?: boolean;
}

/**
 * Runs a docker manifest's flow in a container from its pinned image (pulled when absent): the
 * manifest and parameters go in as environment variables, the run record comes back on stdout.
 */
export async function runInContainer(manifest: DockerPackageManifest, params: Record<string, unknown>, options: DockerRunOptions = {}): Promise<RunRecord> {
  const env = options.hostEnv ?? process.env;
  const source = imageSource(manifest.image);
  if (source.kind === "registry" && !options.allowUnpinned) assertPinned(manifest.image);
  let image = manifest.image;
  let pull: ReturnType<typeof pullOptions>;
  if (source.kind === "oci-layout" || source.kind === "docker-archive") {
    // Loading an image goes through dockerode (and the image readers), loaded only for these.
    const { connectDaemon } = await import("../engine/client.js");
    const { loadArchiveFile, loadImage } = await import("../engine/load.js");
    const docker = await connectDaemon(env);
    if (source.kind === "oci-layout") {
      const { readImageFromLayout } = await import("../image/layout.js");
      const layout = await readImageFromLayout(source.dir, { digest: source.digest, refName: layoutTag(manifest) });
      await loadImage(docker, layout, runImageName(manifest.flowName));
      image = layout.configDigest;
    } else {
      await loadArchiveFile(docker, source.file);
      image = source.configDigest;
    }
  } else {
    pull = pullOptions(manifest.image, env);
  }
  // No ping first: the create's answer says whether the daemon is there (DaemonUnreachableError).
  const api = engineApi(env);
  const result = await runContainerApi(api, image, {
    env: containerRunnerEnv(manifest, { params }, options.env),
    cmd: ["--json"],
    network: options.network,
    pull,
    onStderr: options.onLog ?? ((chunk) => process.stderr.write(chunk)),
    signal: options.signal,
  }).finally(() => api.close());
  if (options.signal?.aborted) throw new InterruptedError("interrupted: the container was stopped and removed", { signal: stopSignalOf(options.signal) });
  let output: unknown;
  try {
    output = JSON.parse(result.stdout);
  } catch {
    throw new ContainerRunError(`the container exited ${result.exitCode} without a result`, {
      hint: "its logs are above; was the image built by flowpack (or does it run flowpack's runner)?",
    });
  }
  if (result.exitCode === 0) return output as RunRecord;
  const failure = output as { error?: ErrorRecord; runId?: unknown };
  throw errorFromRecord(failure.error ?? {}, manifest.flowName, result.exitCode, typeof failure.runId === "string" ? failure.runId : undefined);
}

/** Refuses a registry image named by tag only: what runs could differ from what was packaged. */
export function assertPinned(image: string): void {
  if (parseReference(image).digest) return;
  throw new ManifestError(`the manifest's image ${image} is not pinned to a digest, so what runs could differ from what was packaged`, {
    hint: "package the flow again with --registry (flowpack pins what it pushes), pin it yourself as NAME:TAG@sha256:…, or pass --allow-unpinned to run it by tag",
  });
}

/** The local name a layout's image is loaded under to run it: `flowpack/<flow slug>:run`, as the packager names images. */
export function runImageName(flowName: string): string {
  return localImageName(flowName, "run");
}

/** How to pull the image when the daemon lacks it; the keychain is read only then. */
function pullOptions(image: string, env: NodeJS.ProcessEnv) {
  if (image.startsWith("sha256:")) return undefined; // a local image ID: nothing to pull
  const registryHost = parseReference(image).registry;
  return { registryHost, credentials: () => new DockerKeychain({ env }).resolve(registryHost) };
}
