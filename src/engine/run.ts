import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { ContainerRunError, InterruptedError } from "../errors.js";
import { stopGraceMs, stopSignalOf } from "../_internal/stop.js";
import type { Credentials } from "../registry/keychain.js";
import { reasonOf, setOptions, withTimeout } from "./client.js";
import { engineAuthConfig } from "./push.js";
import { engineMessages, messageError } from "./stream.js";

export interface ContainerRunOptions {
  env?: Record<string, string>;
  cmd?: string[];
  /** Docker network mode: `none`, `host`, `bridge`, … Default: the daemon's default. */
  network?: string;
  /** Pull the image when the daemon does not have it. */
  pull?: { credentials?: Credentials; registryHost: string };
  onStderr?: (chunk: Buffer) => void;
  /**
   * Stops the container when it aborts: SIGTERM, then SIGKILL after the grace period (the runner in
   * the container gets the same grace, as FLOWPACK_STOP_GRACE, to let the flow finish).
   */
  signal?: AbortSignal;
  /** The grace period in ms. Default: FLOWPACK_STOP_GRACE of this process, or 10 s. */
  stopGraceMs?: number;
}

/** Seconds Docker waits after SIGTERM beyond the runner's own grace, so the runner can report before SIGKILL. */
const STOP_MARGIN_SECONDS = 2;

export interface ContainerResult {
  exitCode: number;
  stdout: string;
}

/** True when the daemon has `image` (by name or ID). */
export async function hasImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Pulls an image through the Engine, raising the stream's errors. */
export async function pullImage(docker: Docker, image: string, credentials: Credentials | undefined, registryHost: string, signal?: AbortSignal): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(image, setOptions({ authconfig: engineAuthConfig(credentials, registryHost) }));
  } catch (error) {
    throw new ContainerRunError(`cannot pull ${image}: ${reasonOf(error)}`);
  }
  const stop = () => (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const message of engineMessages(stream)) {
      const failure = messageError(message);
      if (failure) throw new ContainerRunError(`cannot pull ${image}: ${failure.trim()}`);
    }
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError("interrupted while pulling; no container was started", { signal: stopSignalOf(signal) });
    throw error;
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

/**
 * Runs a container to completion: stdout collected (the flow's result), stderr streamed (its
 * logs). When the run is aborted (Ctrl-C, SIGTERM) the container is stopped as `docker stop` does:
 * SIGTERM, SIGKILL after the grace period. It is removed afterwards on every way out.
 */
export async function runContainer(docker: Docker, image: string, options: ContainerRunOptions = {}): Promise<ContainerResult> {
  const interrupted = () => new InterruptedError("interrupted: no container was started", { signal: stopSignalOf(options.signal) });
  const graceMs = options.stopGraceMs ?? stopGraceMs();
  if (options.pull && !(await hasImage(docker, image))) {
    await pullImage(docker, image, options.pull.credentials, options.pull.registryHost, options.signal);
  }
  if (options.signal?.aborted) throw interrupted();
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: image,
      Cmd: options.cmd ?? [],
      Env: Object.entries({ ...options.env, FLOWPACK_STOP_GRACE: String(graceMs / 1000) }).map(([k, v]) => `${k}=${v}`),
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: options.network ? { NetworkMode: options.network } : {},
      Labels: { "dev.flowpack.run": "1" },
    });
  } catch (error) {
    throw new ContainerRunError(`cannot create a container from ${image}: ${reasonOf(error)}`);
  }
  const abort = () => void container.stop({ t: Math.ceil(graceMs / 1000) + STOP_MARGIN_SECONDS }).catch(() => undefined);
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    if (options.signal?.aborted) throw interrupted();
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on("data", (c: Buffer) => chunks.push(c));
    stderr.on("data", (c: Buffer) => options.onStderr?.(c));
    docker.modem.demuxStream(stream, stdout, stderr);
    const ended = new Promise<void>((resolve) => stream.on("end", resolve));
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // The attach stream ends once the daemon has sent everything; never return a cut result.
    await withTimeout(ended, 30_000, "the container's output did not end within 30 s of its exit");
    return { exitCode: StatusCode, stdout: Buffer.concat(chunks).toString("utf8") };
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    throw new ContainerRunError(`container from ${image} failed: ${reasonOf(error)}`);
  } finally {
    options.signal?.removeEventListener("abort", abort);
    await container.remove({ force: true }).catch(() => undefined);
  }
}
