/**
 * Sends one logical registry request: resolves the URL (relative paths and Location headers) and
 * checks its scheme, attaches authorisation (only to the registry's own origin), answers a 401
 * challenge once, follows redirects for GET/HEAD, and retries under the RetryPolicy when the step
 * is safe to repeat. Returns the response for the caller to interpret; `fail()` turns an
 * unexpected one into a RegistryError.
 * Its retries are retry.ts's `exchange()`, the loop every HTTP request of the client goes through.
 */
import type { Readable } from "node:stream";
import type { Authenticator } from "./auth.js";
import { RegistryResponseError } from "./errors.js";
import { destroyQuietly, discard, header, httpRequest, type HttpMethod, type HttpOptions, type HttpResponse } from "./http.js";
import { isUrlAllowed, type RegistryEndpoint } from "./host.js";
import type { Action } from "./names.js";
import type { SecretSet } from "./redact.js";
import { redactUrl } from "./redact.js";
import { errorFromResponse, type ErrorContext } from "./response-error.js";
import type { RetrySignal} from "./retry.js";
import { exchange, retrySignalFor, type RetryInfo, type RetryPolicy } from "./retry.js";
import type { RegistryError } from "./errors.js";

export type RequestBody = Uint8Array | Readable | string;

export interface RegistryRequest {
  method: HttpMethod;
  /** A path on the registry ("/v2/…") or an absolute URL (e.g. an upload Location). */
  url: string | URL;
  headers?: Record<string, string>;
  /** Called for every (re)send, so a retry gets a fresh stream. */
  body?: () => RequestBody | Promise<RequestBody>;
  /** Token scopes the request needs, e.g. `repository:app:pull,push`. */
  scopes: string[];
  repository?: string;
  action: Action;
  /**
   * Whether the step may be repeated: defaults to the policy's `methods`. true for steps that are
   * safe to repeat although their method is not idempotent (starting an upload), false for steps
   * that are not (a PUT to an upload location consumes the session).
   */
  retry?: boolean;
  /** A short name for progress and retry events: "HEAD blob", "PUT manifest" … */
  step: string;
}

export interface TransportOptions {
  endpoint: RegistryEndpoint;
  authenticator: Authenticator;
  policy: RetryPolicy;
  http: HttpOptions;
  secrets: SecretSet;
  keychain?: string | undefined;
  onRetry?: ((info: RetryInfo & { step: string }) => void) | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export class Transport {
  readonly endpoint: RegistryEndpoint;
  readonly policy: RetryPolicy;
  readonly http: HttpOptions;
  readonly #o: TransportOptions;

  constructor(options: TransportOptions) {
    this.#o = options;
    this.endpoint = options.endpoint;
    this.policy = options.policy;
    this.http = options.http;
  }

  get target(): string {
    return `registry ${this.endpoint.name}`;
  }

  /** An absolute URL on (or sent by) the registry, refused if its scheme is not allowed. */
  resolve(url: string | URL, base?: URL): URL {
    let resolved: URL;
    try {
      resolved = new URL(url, base ?? `${this.endpoint.origin}/`);
    } catch {
      throw new RegistryResponseError(`${this.target} sent an invalid URL "${redactUrl(String(url))}"`);
    }
    if (!isUrlAllowed(resolved, this.endpoint)) {
      throw new RegistryResponseError(
        `${this.target} sent us to ${redactUrl(resolved)}, which is not https; refusing to follow`,
        { hint: "if you trust the network, mark the registry insecure" },
      );
    }
    return resolved;
  }

  /** Sends the request (see `exchange`); the response is the caller's to interpret. */
  send(req: RegistryRequest): Promise<HttpResponse> {
    return this.request(req, (res) => Promise.resolve(res));
  }

  /**
   * Sends the request and interprets its response with `read`, both within one attempt of one step
   * (named `step`, or after the request): a body that breaks off is retried like a failed request.
   */
  request<T>(req: RegistryRequest, read: (res: HttpResponse) => Promise<T>, step?: string): Promise<T> {
    return exchange(this.policy, {
      step: { target: this.target, step: step ?? (req.repository ? `${req.step} (${req.repository})` : req.step) },
      retry: req.retry ?? this.policy.methods.includes(req.method),
      send: () => this.#exchange(req),
      errorFor: (res) => this.errorFor(res, req),
      read,
      signal: this.http.signal,
      onRetry: (info) => this.#o.onRetry?.({ ...info, step: req.step }),
    });
  }

  /**
   * The policy's verdict on one attempt of a step that repeats more than one request (an upload,
   * blobs.ts): a RetrySignal when the failure or response is worth another attempt.
   */
  async retrySignal(outcome: { error: unknown } | { res: HttpResponse; req: RegistryRequest }): Promise<RetrySignal | undefined> {
    return retrySignalFor(this.policy, outcome, (res) => this.errorFor(res, (outcome as { req: RegistryRequest }).req));
  }

  async errorFor(res: HttpResponse, req: Pick<RegistryRequest, "method" | "repository" | "action">): Promise<RegistryError> {
    return errorFromResponse(res, await this.#context(req, this.target));
  }

  /** Throws the RegistryError for an unexpected response. */
  async fail(res: HttpResponse, req: Pick<RegistryRequest, "method" | "repository" | "action">): Promise<never> {
    throw await this.errorFor(res, req);
  }

  async #context(req: Pick<RegistryRequest, "method" | "repository" | "action">, target: string): Promise<ErrorContext> {
    return {
      registry: this.endpoint.name,
      origin: this.endpoint.origin,
      method: req.method,
      target,
      repository: req.repository,
      action: req.action,
      credentialSource: await this.#o.authenticator.credentialSource(),
      keychain: this.#o.keychain,
      secrets: this.#o.secrets,
      signal: this.http.signal,
    };
  }

  async #exchange(req: RegistryRequest): Promise<HttpResponse> {
    let url = this.resolve(req.url);
    let scopes = req.scopes;
    let challenged = false;
    const follow = req.method === "GET" || req.method === "HEAD";
    for (let redirects = 0; ; ) {
      const sameOrigin = url.origin === this.endpoint.origin;
      const authorization = sameOrigin ? await this.#o.authenticator.authorization(scopes) : undefined;
      const headers: Record<string, string> = { ...req.headers };
      if (authorization) headers.authorization = authorization;
      const body = req.body ? await req.body() : undefined;
      const target = sameOrigin ? this.target : `${url.host} (for ${this.target})`;
      const res = await httpRequest(url, { method: req.method, headers, body }, this.http, target);

      if (res.status === 401 && sameOrigin && !challenged) {
        challenged = true;
        const next = await this.#o.authenticator.challenged(res.headers["www-authenticate"], scopes, authorization);
        if (next) {
          abandon(body);
          await discard(res.body);
          scopes = next;
          continue;
        }
      }
      const location = header(res.headers, "location");
      if (follow && REDIRECTS.has(res.status) && location) {
        if (++redirects > MAX_REDIRECTS) {
          await discard(res.body);
          throw new RegistryResponseError(`${this.target}: too many redirects for ${req.method} ${url.pathname}`);
        }
        abandon(body);
        await discard(res.body);
        url = this.resolve(location, url);
        continue;
      }
      return res;
    }
  }
}

/** A request body stream we will not send again: release it (files, sockets). */
function abandon(body: RequestBody | undefined): void {
  if (body && typeof body === "object" && "destroy" in body) destroyQuietly(body);
}
