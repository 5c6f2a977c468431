import type { FlowEnv } from "../_internal/env-vars.js";
import { ContainerRunError, InterruptedError, ManifestError } from "../errors.js";
import { engineApi, type EngineApi } from "../engine/api.js";
import { EngineStatusError } from "../engine/engine-error.js";
import { pullImageApi, runContainerApi } from "../engine/container-run.js";
import { parseReference } from "../oci/reference.js";
import type { DockerPackageManifest } from "../manifest/schema.js";
import { localImageName } from "../packagers/docker/local-name.js";
import { containerRunnerEnv } from "../manifest/runner-env.js";
import { stopSignalOf } from "../_internal/stop.js";
import { errorFromRunnerOutput } from "./error-record.js";
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
  const prepared = await prepareContainerRuns(manifest, options);
  try {
    return await runPrepared(prepared, params, options);
  } finally {
    prepared.api.close();
  }
}

/** A docker manifest made ready to run (daemon connected, image checked, loaded or pulled): one prepare, any number of runs. */
export interface PreparedContainerRuns {
  readonly manifest: DockerPackageManifest;
  /** The Engine API client the runs go through (src/engine/api.ts; close() it when done). */
  readonly api: EngineApi;
  /** What containers are created from: the manifest's image, or the ID of a loaded one. */
  readonly image: string;
  /** Set when the image is still to be pulled on the first run that finds it absent. */
  readonly pull?: PullOptions;
}

type PullOptions = ReturnType<typeof pullOptions>;

/**
 * The one-off part of running a docker manifest: the pin checked, the daemon connected, registry
 * credentials resolved, an OCI layout or archive loaded. With `pullNow` (a batch of runs) a registry
 * image is also pulled here when the daemon lacks it, once, rather than by its first run.
 */
export async function prepareContainerRuns(
  manifest: DockerPackageManifest,
  options: Pick<DockerRunOptions, "hostEnv" | "allowUnpinned" | "signal"> & { pullNow?: boolean } = {},
): Promise<PreparedContainerRuns> {
  const env = options.hostEnv ?? process.env;
  const source = imageSource(manifest.image);
  if (source.kind === "registry" && !options.allowUnpinned) assertPinned(manifest.image);
  // No ping: the first request's answer says whether the daemon is there (DaemonUnreachableError).
  const api = engineApi(env);
  const prepared = (image: string, pull?: PullOptions): PreparedContainerRuns => ({ manifest, api, image, pull });
  if (source.kind === "oci-layout" || source.kind === "docker-archive") {
    // Loading an image goes through dockerode (and the image readers), loaded only for these.
    const { connectDaemon } = await import("../engine/client.js");
    const { loadArchiveFile, loadImage } = await import("../engine/load.js");
    const docker = await connectDaemon(env);
    if (source.kind === "docker-archive") {
      await loadArchiveFile(docker, source.file);
      return prepared(source.configDigest);
    }
    const { readImageFromLayout } = await import("../image/layout.js");
    const layout = await readImageFromLayout(source.dir, { digest: source.digest, refName: layoutTag(manifest) });
    await loadImage(docker, layout, runImageName(manifest.flowName));
    return prepared(layout.configDigest);
  }
  const pull = pullOptions(manifest.image, env);
  if (!options.pullNow || !pull) return prepared(manifest.image, pull);
  if (!(await hasImage(api, manifest.image))) await pullImageApi(api, manifest.image, await pull.credentials(), pull.registryHost, options.signal);
  return prepared(manifest.image);
}

/** Whether the daemon has the image (`GET /images/{name}/json`: 404 when it does not). */
async function hasImage(api: EngineApi, image: string): Promise<boolean> {
  try {
    await api.request("GET", `/images/${image}/json`);
    return true;
  } catch (error) {
    if (error instanceof EngineStatusError && error.status === 404) return false;
    throw error;
  }
}

/** One run of a prepared docker manifest: a container created, run to its end and removed; its run record returned or its error raised. */
export async function runPrepared(prepared: PreparedContainerRuns, params: Record<string, unknown>, options: DockerRunOptions = {}): Promise<RunRecord> {
  const { manifest, api, image, pull } = prepared;
  const result = await runContainerApi(api, image, {
    env: containerRunnerEnv(manifest, { params }, options.env),
    cmd: ["--json"],
    network: options.network,
    pull,
    onStderr: options.onLog ?? ((chunk) => process.stderr.write(chunk)),
    signal: options.signal,
  });
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
  throw errorFromRunnerOutput(output, manifest.flowName, result.exitCode);
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

/** How to pull the image (its registry, and credentials read from the keychain only when asked for); none for a local image ID. */
export function pullOptions(image: string, env: NodeJS.ProcessEnv) {
  if (image.startsWith("sha256:")) return undefined; // a local image ID: nothing to pull
  const registryHost = parseReference(image).registry;
  return { registryHost, credentials: async () => new (await import("../registry/keychain.js")).DockerKeychain({ env }).resolve(registryHost) };
}
