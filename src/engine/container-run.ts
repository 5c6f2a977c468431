import type { IncomingMessage } from "node:http";
import * as z from "../_internal/zod-mini.js";
import { ContainerRunError, InterruptedError, isFlowpackError } from "../errors.js";
import { STOP_MARGIN_MS, stopGraceMs, stopSignalOf } from "../_internal/stop.js";
import { parseReference } from "../oci/reference.js";
import type { Credentials } from "../registry/keychain.js";
import { readText, type EngineApi } from "./api.js";
import { withTimeout } from "./client.js";
import { EngineStatusError, reasonOf } from "./engine-error.js";
import { engineAuthConfig, registryAuthHeader } from "./push.js";
import { demux, engineMessages, messageError } from "./stream.js";

export interface ApiContainerRunOptions {
  env?: Record<string, string>;
  cmd?: string[];
  /** Docker network mode: `none`, `host`, `bridge`, … Default: the daemon's default. */
  network?: string;
  /**
   * Pull the image when the daemon does not have it. The credentials are looked up only then (most
   * runs find the image there and never read the keychain).
   */
  pull?: { registryHost: string; credentials: () => Promise<Credentials | undefined> };
  onStderr?: (chunk: Buffer) => void;
  /** Stops the container when it aborts: SIGTERM, then SIGKILL after the grace period (as `docker stop`). */
  signal?: AbortSignal;
  /** The grace period in ms. Default: FLOWPACK_STOP_GRACE of this process, or 10 s. */
  stopGraceMs?: number;
}

export interface ApiContainerResult {
  exitCode: number;
  stdout: string;
}


const createdSchema = z.looseObject({ Id: z.string().check(z.minLength(1)) });
const waitedSchema = z.looseObject({ StatusCode: z.number().check(z.int()), Error: z.nullish(z.looseObject({ Message: z.optional(z.string()) })) });

/**
 * Runs a container to completion with as few daemon round trips as the Engine API allows, in order:
 * create (the daemon says 404 when the image is absent: then, and only then, pull and create again),
 * attach and wait (sent together, before start, so neither misses the exit), start. The container is
 * created with AutoRemove and waited for with `condition=removed`, as `docker run --rm` does, so the
 * daemon removes it as it exits and no DELETE is on the way to the result; on every other way out
 * (a failed start, Ctrl-C before the exit was seen, an error) it is removed with `DELETE ?force=1`.
 * stdout is collected (the flow's result), stderr streamed (its logs). Aborting stops the container
 * as `docker stop` does.
 */
export async function runContainerApi(api: EngineApi, image: string, options: ApiContainerRunOptions = {}): Promise<ApiContainerResult> {
  const interrupted = () => new InterruptedError("interrupted: no container was started", { signal: stopSignalOf(options.signal) });
  const graceMs = options.stopGraceMs ?? stopGraceMs();
  if (options.signal?.aborted) throw interrupted();
  const spec = {
    Image: image,
    Cmd: options.cmd ?? [],
    Env: Object.entries({ ...options.env, FLOWPACK_STOP_GRACE: String(graceMs / 1000) }).map(([k, v]) => `${k}=${v}`),
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: { AutoRemove: true, ...(options.network ? { NetworkMode: options.network } : {}) },
    Labels: { "dev.flowpack.run": "1" },
  };
  const id = await createContainer(api, image, spec, options);
  let removed = false;
  const abort = () => void api.request("POST", `/containers/${id}/stop`, { query: { t: Math.ceil((graceMs + STOP_MARGIN_MS) / 1000) } }).catch(() => undefined);
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    if (options.signal?.aborted) throw interrupted();
    // Both before start: the attach so no output is missed, the wait so the exit is not (the daemon
    // answers a wait's headers once it is registered). Sent together: one round trip, not two.
    const [output, waiting] = await Promise.all([
      api.stream("POST", `/containers/${id}/attach`, { query: { stream: 1, stdout: 1, stderr: 1 } }),
      api.stream("POST", `/containers/${id}/wait`, { query: { condition: "removed" } }),
    ]);
    const chunks: Buffer[] = [];
    const ended = demux(output, (chunk) => chunks.push(chunk), (chunk) => options.onStderr?.(chunk));
    ended.catch(() => undefined); // awaited below; on an earlier way out its end must not be an unhandled rejection
    if (options.signal?.aborted) throw interrupted(); // a stop sent before the start would not stop it
    await api.request("POST", `/containers/${id}/start`);
    // A stop sent while the start was in flight may have reached the daemon first (and done nothing): send it again.
    if (options.signal?.aborted) abort();
    const waited = waitedSchema.parse(JSON.parse(await readText(waiting)));
    if (waited.Error?.Message) throw new Error(waited.Error.Message);
    removed = true;
    // The attach stream ends once the daemon has sent everything; never return a cut result.
    await withTimeout(ended, 30_000, "the container's output did not end within 30 s of its exit");
    return { exitCode: waited.StatusCode, stdout: Buffer.concat(chunks).toString("utf8") };
  } catch (error) {
    if (isFlowpackError(error)) throw error;
    throw new ContainerRunError(`container from ${image} failed: ${reasonOf(error)}`);
  } finally {
    options.signal?.removeEventListener("abort", abort);
    if (!removed) await api.request("DELETE", `/containers/${id}`, { query: { force: 1 } }).catch(() => undefined);
  }
}

/** Creates the container; when the daemon has no such image, pulls it (if allowed) and creates again. */
async function createContainer(api: EngineApi, image: string, spec: object, options: ApiContainerRunOptions): Promise<string> {
  const create = async () => createdSchema.parse((await api.request("POST", "/containers/create", { body: spec })).body).Id;
  try {
    return await create();
  } catch (error) {
    // Only a missing image is pulled; another 404 (a network that does not exist) is the error itself.
    const noImage = error instanceof EngineStatusError && error.status === 404 && /no such image|image not known/i.test(error.engineMessage);
    if (!(noImage && options.pull)) throw createFailure(image, error);
  }
  await pullImageApi(api, image, await options.pull.credentials(), options.pull.registryHost, options.signal);
  if (options.signal?.aborted) throw new InterruptedError("interrupted: no container was started", { signal: stopSignalOf(options.signal) });
  try {
    return await create();
  } catch (error) {
    throw createFailure(image, error);
  }
}

function createFailure(image: string, error: unknown): Error {
  if (isFlowpackError(error)) return error;
  return new ContainerRunError(`cannot create a container from ${image}: ${reasonOf(error)}`);
}

/** Pulls an image through the Engine (`POST /images/create`), raising the stream's errors. */
export async function pullImageApi(api: EngineApi, image: string, credentials: Credentials | undefined, registryHost: string, signal?: AbortSignal): Promise<void> {
  const reference = parseReference(image);
  const auth = engineAuthConfig(credentials, registryHost);
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    let stream: IncomingMessage;
    try {
      stream = await api.stream("POST", "/images/create", {
        query: { fromImage: `${reference.registry}/${reference.path}`, tag: reference.digest ?? reference.tag },
        headers: auth ? { "X-Registry-Auth": registryAuthHeader(auth) } : {},
        signal: controller.signal,
      });
    } catch (error) {
      if (signal?.aborted) throw new InterruptedError("interrupted while pulling; no container was started", { signal: stopSignalOf(signal) });
      if (isFlowpackError(error)) throw error;
      throw new ContainerRunError(`cannot pull ${image}: ${reasonOf(error)}`);
    }
    try {
      for await (const message of engineMessages(stream)) {
        const failure = messageError(message);
        if (failure) throw new ContainerRunError(`cannot pull ${image}: ${failure.trim()}`);
      }
    } catch (error) {
      if (signal?.aborted) throw new InterruptedError("interrupted while pulling; no container was started", { signal: stopSignalOf(signal) });
      throw error;
    }
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

