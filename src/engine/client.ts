import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import type Docker from "dockerode";
import { DaemonUnreachableError } from "../errors.js";
import { redactUrl } from "../registry/redact.js";
import { reasonOf } from "./engine-error.js";

/** Where the daemon is, as people write it (DOCKER_HOST or the default socket). */
export function daemonAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST ? redactUrl(env.DOCKER_HOST) : "unix:///var/run/docker.sock";
}

/**
 * A Docker Engine client configured like the docker CLI: DOCKER_HOST (unix://, tcp://, npipe://),
 * DOCKER_TLS_VERIFY (any non-empty value) and DOCKER_CERT_PATH for TLS, read from `env` only (never from this process).
 */
export function createDockerClient(env: NodeJS.ProcessEnv = process.env): Docker {
  const host = env.DOCKER_HOST;
  if (!host) return dockerClient({ socketPath: "/var/run/docker.sock" });
  const invalid = () =>
    new DaemonUnreachableError(`DOCKER_HOST=${redactUrl(host)} is not a daemon address`, {
      hint: "use unix:///path/to/docker.sock or tcp://host:2376",
    });
  if (host.startsWith("unix://")) return dockerClient({ socketPath: host.slice("unix://".length) });
  if (host.startsWith("npipe://")) return dockerClient({ socketPath: host.slice("npipe://".length).replace(/\//g, "\\") });
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw invalid();
  }
  if (!["tcp:", "http:", "https:"].includes(url.protocol)) throw invalid();
  const tls = url.protocol === "https:" || (env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "");
  const certPath = env.DOCKER_CERT_PATH ?? join(homedir(), ".docker");
  const read = (file: string) => readFileSync(join(certPath, file));
  return dockerClient({
    host: url.hostname,
    port: Number(url.port || (tls ? 2376 : 2375)),
    protocol: tls ? "https" : "http",
    ...(tls ? { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } : {}),
  });
}

/**
 * dockerode's modem also reads DOCKER_HOST, DOCKER_CERT_PATH, … from process.env, and those win for
 * every field not given: each one is given here, so only `env` decides where the client connects.
 */
// dockerode (with its transports) is large: loaded on first use, so commands that never talk to a
// daemon do not pay for it.
let DockerClass: typeof Docker | undefined;

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
    throw new DaemonUnreachableError(`cannot reach the Docker daemon at ${daemonAddress(env)}: ${reasonOf(error)}`, {
      hint: "start Docker, or set DOCKER_HOST to a running daemon (e.g. DOCKER_HOST=unix:///run/docker.sock); --builder oci needs no daemon",
    });
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
