/**
 * One HTTP exchange over undici, nothing more: no auth, no retries, no redirects. Network failures
 * become RegistryUnreachableError with a one-line, redacted message ("cannot reach registry HOST:
 * connection refused"); the original error is kept only as a sanitised cause.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { Agent, Dispatcher } from "undici";
import type undiciRequest from "undici/lib/api/api-request.js";
import { isFlowpackError } from "../errors.js";
import { currentStep, withStepSignal } from "./deadline.js";
import { RegistryResponseError, RegistryUnreachableError } from "./errors.js";
import { redactText, redactUrl } from "./redact.js";
import { commonJsExports } from "../_internal/import-module.js";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
export type ResponseBody = Dispatcher.ResponseData["body"];

export interface HttpOptions {
  dispatcher?: Dispatcher | undefined;
  signal?: AbortSignal | undefined;
  /** Time to wait for response headers. */
  headersTimeoutMs: number;
  /** Longest pause between two chunks of a response body. */
  bodyTimeoutMs: number;
  /**
   * Time to establish a connection (TCP and TLS), when shorter than undici's 10 s; ignored when a
   * `dispatcher` is given (it has its own). A connection attempt cannot be aborted midway, so this
   * keeps it inside a short step deadline.
   */
  connectTimeoutMs?: number | undefined;
  userAgent: string;
  /** Debug log: one redacted line per exchange. */
  log?: ((line: string) => void) | undefined;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
  /** The URL that answered (after redirects). */
  url: URL;
}

export interface HttpInit {
  method: HttpMethod;
  headers: Record<string, string>;
  body?: Uint8Array | Readable | string | undefined;
}

/** How far past a step's deadline undici's header/body timeouts are set. */
const BACKSTOP_MARGIN_MS = 1_000;

/**
 * @param target what we are talking to, for messages: "registry ghcr.io", "token server auth.docker.io".
 */
export async function httpRequest(url: URL, init: HttpInit, options: HttpOptions, target: string): Promise<HttpResponse> {
  const started = Date.now();
  // Inside a step, its deadline aborts the request, and undici's own header/body timeouts are
  // capped just past it: backstops (e.g. for a body read after the step), never the first to fire,
  // so a silent registry always ends with the step's RegistryTimeoutError, which names the step.
  const step = currentStep();
  const signal = withStepSignal(options.signal);
  const cap = step ? step.timeoutMs + BACKSTOP_MARGIN_MS : Infinity;
  try {
    const undici = await loadUndici();
    const res = await undici.request.call(dispatcherFor(undici, options), {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: init.method,
      headers: { "user-agent": options.userAgent, ...init.headers },
      body: init.body ?? null,
      signal: signal ?? null,
      headersTimeout: Math.min(options.headersTimeoutMs, cap),
      bodyTimeout: Math.min(options.bodyTimeoutMs, cap),
    });
    options.log?.(`${init.method} ${redactUrl(url)} -> ${res.statusCode} (${Date.now() - started} ms)`);
    return { status: res.statusCode, headers: res.headers, body: res.body, url };
  } catch (error) {
    options.log?.(`${init.method} ${redactUrl(url)} -> ${errorCode(error) ?? "error"} (${Date.now() - started} ms)`);
    throw networkError(error, target, init.method, url, signal);
  }
}

interface UndiciRequest {
  request: typeof undiciRequest;
  getGlobalDispatcher: () => Dispatcher;
  Agent: typeof Agent;
}

/** undici's own connect timeout, the global dispatcher's. */
export const UNDICI_CONNECT_TIMEOUT_MS = 10_000;
/** Agents with a shorter connect timeout, one per timeout, shared by every client that asks for it. */
const agents = new Map<number, Dispatcher>();

function dispatcherFor(undici: UndiciRequest, options: HttpOptions): Dispatcher {
  if (options.dispatcher) return options.dispatcher;
  const timeout = options.connectTimeoutMs;
  if (timeout === undefined || timeout >= UNDICI_CONNECT_TIMEOUT_MS) return undici.getGlobalDispatcher();
  let agent = agents.get(timeout);
  if (!agent) {
    agent = new undici.Agent({ connect: { timeout } });
    agents.set(timeout, agent);
  }
  return agent;
}
let undici: Promise<UndiciRequest> | undefined;

/**
 * undici's request() and global dispatcher, loaded on the first request. From their own modules,
 * not the package's index, which also loads fetch, WebSocket, cookies, caches and mocks: ~40 ms of
 * every command's start-up here, for nothing this client uses. (Those paths are undici's own
 * layout: package.json pins undici to 7.30.x, and every registry test goes through them.) The
 * packager's first request (resolving the base image while esbuild works) pays for loading them.
 */
function loadUndici(): Promise<UndiciRequest> {
  undici ??= Promise.all([
    import("undici/lib/api/api-request.js"),
    import("undici/lib/global.js"),
    import("undici/lib/dispatcher/agent.js"), // loaded by global.js anyway
  ]).then(([api, global, agent]) => ({
    request: api.default,
    getGlobalDispatcher: commonJsExports(global).getGlobalDispatcher,
    Agent: agent.default,
  }));
  return undici;
}

/**
 * Starts loading undici now, for a request that will come: a push whose base image came from the
 * cache has no request before its first upload, which would otherwise pay for the loading.
 */
export function preloadHttp(): void {
  loadUndici().catch(() => undefined); // the request that needs it reports a failure
}

export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const CONNECT_MESSAGES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host name not found (DNS lookup failed)",
  EAI_AGAIN: "host name lookup failed temporarily (DNS)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  ETIMEDOUT: "connection timed out",
};

const BROKEN_MESSAGES: Record<string, string> = {
  UND_ERR_SOCKET: "the connection was closed by the other side",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed while sending",
  UND_ERR_CLOSED: "the connection was closed",
  UND_ERR_HEADERS_TIMEOUT: "no response headers in time",
  UND_ERR_BODY_TIMEOUT: "the response body stalled",
};

/** Maps a transport failure to a flowpack error; flowpack errors and aborts pass through unchanged. */
export function networkError(
  error: unknown,
  target: string,
  method: string,
  url: URL,
  signal?: AbortSignal,
): Error {
  if (isFlowpackError(error)) return error;
  if (signal?.aborted) return (signal.reason as Error | undefined) ?? (error as Error);
  const code = errorCode(error);
  const raw = error instanceof Error ? error.message : String(error);
  const cause = Object.assign(new Error(redactText(raw)), { code });
  // The target names the host; the path never carries secrets (the query string is left out).
  const where = `${method} ${url.pathname}`;
  if (code && code in CONNECT_MESSAGES) {
    return new RegistryUnreachableError(`cannot reach ${target}: ${CONNECT_MESSAGES[code]}`, {
      errno: code,
      cause,
      hint: "check the registry address (host[:port]) and that the registry is running and reachable from here",
    });
  }
  if (code && code in BROKEN_MESSAGES) {
    return new RegistryUnreachableError(`${target}: ${BROKEN_MESSAGES[code]} during ${where}`, { errno: code, cause });
  }
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO" || /wrong version number/i.test(raw)) {
    return new RegistryUnreachableError(`cannot reach ${target}: TLS handshake failed (${redactText(raw)})`, {
      errno: code,
      cause,
      hint: "the registry may speak plain http only; if you trust the network, mark it insecure",
    });
  }
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new RegistryUnreachableError(`cannot reach ${target}: its TLS certificate is not trusted (${code})`, {
      errno: code,
      cause,
      hint: "add the registry's CA with NODE_EXTRA_CA_CERTS, or mark the registry insecure if you trust the network",
    });
  }
  return new RegistryUnreachableError(`cannot reach ${target}: ${redactText(raw)}${code ? ` (${code})` : ""}`, {
    errno: code,
    cause,
  });
}

/** The first value of a header (undici gives string | string[]). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Drops a response body we do not need, so its connection can be reused. Never throws. */
export async function discard(body: ResponseBody): Promise<void> {
  try {
    await body.dump({ limit: 1 << 20 });
  } catch {
    destroyQuietly(body);
  }
}

/** Destroys a stream without the abort error it would otherwise emit (and crash on, unhandled). */
export function destroyQuietly(stream: { destroy(error?: Error): unknown; on(event: "error", fn: () => void): unknown; destroyed?: boolean }): void {
  if (stream.destroyed) return;
  stream.on("error", () => {});
  stream.destroy();
}

/** Reads a whole response body, refusing more than `limit` bytes; a broken connection becomes a flowpack error. */
export async function readBody(
  res: HttpResponse,
  limit: number,
  what: string,
  target: string,
  method: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const step = currentStep();
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      step?.touch();
      total += chunk.length;
      if (total > limit) {
        destroyQuietly(res.body);
        throw new RegistryResponseError(`${what} from ${target} is larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw networkError(error, target, method, res.url, withStepSignal(signal));
  }
  return Buffer.concat(chunks, total);
}
