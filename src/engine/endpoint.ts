import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { DaemonUnreachableError } from "../errors.js";
import { redactUrl } from "../registry/redact.js";

/** Where a Docker daemon listens: a socket (unix, named pipe), or a host and port, with TLS material when asked for. */
export type EngineEndpoint = { socketPath: string } | { host: string; port: number; tls?: { ca: Buffer; cert: Buffer; key: Buffer } };

/** Where the daemon is, as people write it (DOCKER_HOST, credentials redacted, or the default socket). */
export function daemonAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST ? redactUrl(env.DOCKER_HOST) : "unix:///var/run/docker.sock";
}

/**
 * DOCKER_HOST as the docker CLI reads it, from `env` only (never from this process): unix://,
 * npipe://, tcp:// / http:// / https://; TLS for https:// or a non-empty DOCKER_TLS_VERIFY, with
 * ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker); the port defaults to 2376
 * with TLS, 2375 without. Anything else is a DaemonUnreachableError naming the (redacted) address.
 * The one reading of DOCKER_HOST, shared by the dockerode client and the node:http Engine API client.
 */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: "/var/run/docker.sock" };
  const invalid = () =>
    new DaemonUnreachableError(`DOCKER_HOST=${redactUrl(host)} is not a daemon address`, {
      hint: "use unix:///path/to/docker.sock or tcp://host:2376",
    });
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  if (host.startsWith("npipe://")) return { socketPath: host.slice("npipe://".length).replace(/\//g, "\\") };
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
  return {
    // An IPv6 literal without its brackets: that is how node:net (and so both clients) takes a host.
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port || (tls ? 2376 : 2375)),
    ...(tls ? { tls: { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } } : {}),
  };
}
