import { createRequire } from "node:module";
import type Docker from "dockerode";
import { daemonAddress, engineEndpoint } from "./endpoint.js";
import { daemonUnreachable, reasonOf } from "./engine-error.js";

/**
 * A Docker Engine client configured like the docker CLI: DOCKER_HOST (unix://, tcp://, npipe://),
 * DOCKER_TLS_VERIFY (any non-empty value) and DOCKER_CERT_PATH for TLS, read from `env` only (never
 * from this process), as engineEndpoint reads them.
 */
export function createDockerClient(env: NodeJS.ProcessEnv = process.env): Docker {
  const endpoint = engineEndpoint(env);
  if ("socketPath" in endpoint) return dockerClient({ socketPath: endpoint.socketPath });
  const { tls } = endpoint;
  return dockerClient({ host: endpoint.host, port: endpoint.port, protocol: tls ? "https" : "http", ...tls });
}

// dockerode (with its transports) is large: loaded on first use, so commands that never talk to a
// daemon do not pay for it.
let DockerClass: typeof Docker | undefined;

/**
 * dockerode's modem also reads DOCKER_HOST, DOCKER_CERT_PATH, … from process.env, and those win for
 * every field not given: each one is given here, so only `env` decides where the client connects.
 */
function dockerClient(options: Docker.DockerOptions): Docker {
  DockerClass ??= createRequire(import.meta.url)("dockerode") as typeof Docker;
  const unset = ["socketPath", "host", "port", "protocol", "ca", "cert", "key", "pathPrefix", "timeout", "username"];
  return new DockerClass({ ...Object.fromEntries(unset.map((field) => [field, undefined])), ...options });
}

/** Pings the daemon (bounded); an unreachable daemon is a one-line error saying how to point at one. */
export async function connectDaemon(env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<Docker> {
  const docker = createDockerClient(env);
  try {
    await withTimeout(docker.ping(), timeoutMs, "no answer");
  } catch (error) {
    throw daemonUnreachable(daemonAddress(env), reasonOf(error));
  }
  return docker;
}

/**
 * Engine request options with only the fields that are set. dockerode puts every key in the query
 * string, an unset one as `key=`; Docker ignores those but Podman refuses some (an empty `labels`
 * is a 400), so nothing unset, and no empty object or list, is sent.
 */
export function setOptions<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => {
      if (value === undefined || value === null || value === "") return false;
      if (Array.isArray(value)) return value.length > 0;
      if (typeof value === "object") return Object.keys(value as object).length > 0;
      return true;
    }),
  ) as Partial<T>;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
