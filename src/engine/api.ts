import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { DaemonUnreachableError } from "../errors.js";
import { redactUrl } from "../registry/redact.js";
import { daemonAddress } from "./client.js";
import { EngineStatusError, engineText, silentStatus, socketReason } from "./engine-error.js";

/**
 * A small Docker Engine API client on node:http, for the paths where start-up time matters
 * (`flowpack run --on docker`): dockerode and its transports take longer to load than the whole
 * run's requests take over a local socket. Configured like the docker CLI (and like
 * createDockerClient): DOCKER_HOST (unix://, tcp://, http(s)://), DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH, read from `env` only. Paths are unversioned: the daemon answers in its own API
 * version, as dockerode's requests are answered.
 */
export interface EngineApi {
  /** One request; the answer's body parsed as JSON when it is JSON (text otherwise, undefined when empty). */
  request(method: string, path: string, options?: EngineRequestOptions): Promise<EngineAnswer>;
  /** One request whose answer is a stream (pull progress, an attach): resolves with the response once its headers arrive. */
  stream(method: string, path: string, options?: EngineRequestOptions): Promise<IncomingMessage>;
  /** Closes the kept-alive connections (the process may exit at once). */
  close(): void;
  /** Where the daemon is, as people write it (for messages). */
  readonly address: string;
}

export interface EngineRequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface EngineAnswer {
  status: number;
  body: unknown;
}

/** How long the daemon may take to accept a connection before it counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

type Endpoint = { socketPath: string } | { host: string; port: number; tls?: { ca: Buffer; cert: Buffer; key: Buffer } };

/** Where DOCKER_HOST (from `env` only) points: a socket, or a host and port with TLS when asked for. */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint {
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
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port || (tls ? 2376 : 2375)),
    ...(tls ? { tls: { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } } : {}),
  };
}

/** A client for the daemon `env` names. Nothing is sent until the first request (there is no ping: the first answer says whether the daemon is there). */
export function engineApi(env: NodeJS.ProcessEnv = process.env): EngineApi {
  const endpoint = engineEndpoint(env);
  const address = daemonAddress(env);
  const secure = "tls" in endpoint && endpoint.tls !== undefined;
  // node:https (and tls) only for a TLS daemon: loading them costs a local socket's run ~5-10 ms.
  const transport: Promise<{ agent: HttpAgent; request: typeof httpRequest }> = secure
    ? import("node:https").then((https) => ({ agent: new https.Agent({ keepAlive: true, ...endpoint.tls }), request: https.request }))
    : Promise.resolve({ agent: new HttpAgent({ keepAlive: true }), request: httpRequest });
  const send = async (method: string, path: string, options: EngineRequestOptions = {}) => {
    const { agent, request: sendRequest } = await transport;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const query = Object.entries(options.query ?? {}).filter(([, value]) => value !== undefined && value !== "");
      const search = query.length ? `?${new URLSearchParams(query.map(([key, value]): [string, string] => [key, String(value)])).toString()}` : "";
      const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      const headers: Record<string, string | number> = { ...options.headers };
      if (body) Object.assign(headers, { "content-type": "application/json", "content-length": body.length });
      const target = "socketPath" in endpoint ? { socketPath: endpoint.socketPath, host: "localhost" } : { host: endpoint.host, port: endpoint.port };
      const request = sendRequest({ ...target, agent, method, path: `${path}${search}`, headers, signal: options.signal });
      let connected = false;
      const connectTimer = setTimeout(() => request.destroy(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })), CONNECT_TIMEOUT_MS);
      request.on("socket", (socket) => {
        const ready = () => {
          connected = true;
          clearTimeout(connectTimer);
        };
        if (!socket.connecting) ready();
        else socket.once(secure ? "secureConnect" : "connect", ready);
      });
      request.on("response", (response) => {
        clearTimeout(connectTimer);
        resolve(response);
      });
      request.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        if (!connected && error.name !== "AbortError") reject(unreachable(address, error));
        else reject(error);
      });
      request.end(body);
    });
  };
  return {
    address,
    async request(method, path, options) {
      const response = await send(method, path, options);
      const text = await readText(response);
      const body = parseBody(text, response.headers["content-type"]);
      if (response.statusCode! >= 400) throw new EngineStatusError(response.statusCode!, engineText(body) ?? silentStatus(response.statusCode!));
      return { status: response.statusCode!, body };
    },
    async stream(method, path, options) {
      const response = await send(method, path, options);
      if (response.statusCode! >= 400) {
        const text = await readText(response);
        throw new EngineStatusError(response.statusCode!, engineText(parseBody(text, response.headers["content-type"])) ?? silentStatus(response.statusCode!));
      }
      return response;
    },
    close: () => void transport.then(({ agent }) => agent.destroy()),
  };
}

function unreachable(address: string, error: NodeJS.ErrnoException): DaemonUnreachableError {
  const reason = socketReason(error.code) ?? error.message;
  return new DaemonUnreachableError(`cannot reach the Docker daemon at ${address}: ${reason}`, {
    hint: "start Docker, or set DOCKER_HOST to a running daemon (e.g. DOCKER_HOST=unix:///run/docker.sock); --builder oci needs no daemon",
  });
}

async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (!text) return undefined;
  if (contentType?.includes("json") || /^[[{]/.test(text.trim())) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
