import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import type * as Https from "node:https";
import { createRequire } from "node:module";
import type { DaemonUnreachableError } from "../errors.js";
import { daemonAddress, engineEndpoint } from "./endpoint.js";
import { daemonUnreachable, EngineStatusError, engineText, silentStatus, socketReason } from "./engine-error.js";

/**
 * A small Docker Engine API client on node:http, for the paths where start-up time matters
 * (`flowpack run --on docker`): dockerode and its transports take longer to load than the whole
 * run's requests take over a local socket. Configured like the docker CLI, as createDockerClient is
 * (both through engineEndpoint): DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, from `env`
 * only. Paths are unversioned: the daemon answers in its own API version, as dockerode's requests are
 * answered.
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

/** node:https, loaded when first needed (with `require`: the CLI's command bundles have no `import()` of their own). */
const loadHttps = () => createRequire(import.meta.url)("node:https") as typeof Https;

/** How long the daemon may take to accept a connection before it counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** A client for the daemon `env` names. Nothing is sent until the first request (there is no ping: the first answer says whether the daemon is there). */
export function engineApi(env: NodeJS.ProcessEnv = process.env): EngineApi {
  const endpoint = engineEndpoint(env);
  const address = daemonAddress(env);
  const tls = "tls" in endpoint ? endpoint.tls : undefined;
  const secure = tls !== undefined;
  // node:https (and tls) only for a TLS daemon: loading them costs a local socket's run ~5-10 ms.
  const https = secure ? loadHttps() : undefined;
  const agent: HttpAgent = https ? new https.Agent({ keepAlive: true, ...tls }) : new HttpAgent({ keepAlive: true });
  const sendRequest: typeof httpRequest = https ? https.request : httpRequest;
  const send = (method: string, path: string, options: EngineRequestOptions = {}) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const query = Object.entries(options.query ?? {}).filter(([, value]) => value !== undefined && value !== "");
      const search = query.length ? `?${new URLSearchParams(query.map(([key, value]): [string, string] => [key, String(value)])).toString()}` : "";
      const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      const headers: Record<string, string | number> = { ...options.headers };
      if (body) Object.assign(headers, { "content-type": "application/json", "content-length": body.length });
      const target = "socketPath" in endpoint ? { socketPath: endpoint.socketPath, host: "localhost" } : { host: endpoint.host, port: endpoint.port };
      // No TLS server name to work out (node:http's agent does, with an IPv6 regex whose first use
      // costs a run ~3 ms) where there is no TLS.
      const servername = secure ? {} : { servername: "" };
      const request = sendRequest({ ...target, ...servername, agent, method, path: `${path}${search}`, headers, signal: options.signal });
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
    close: () => agent.destroy(),
  };
}

function unreachable(address: string, error: NodeJS.ErrnoException): DaemonUnreachableError {
  return daemonUnreachable(address, socketReason(error.code) ?? error.message);
}

/** An answer's whole body as text. */
export async function readText(response: IncomingMessage): Promise<string> {
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
