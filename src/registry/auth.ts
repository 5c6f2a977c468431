/**
 * Answers a registry's WWW-Authenticate challenge. Basic: the keychain's user/password on every
 * request. Bearer: a token from the realm (GET realm?service=…&scope=…, with Basic credentials when
 * we have some; an identity token uses the OAuth2 refresh-token POST), cached per scope set until it
 * expires; a 401 with a token already sent refreshes it once. Without credentials: anonymous (an
 * anonymous token for Bearer).
 *
 * The scheme is learnt from the first 401 (or from ping()), after which authorisation is sent up
 * front, so large bodies are not sent twice.
 */
import { parseChallenges, selectChallenge, type Challenge } from "./challenge.js";
import { RegistryResponseError } from "./errors.js";
import { discard, httpRequest, readBody, type HttpOptions, type HttpResponse } from "./http.js";
import { isUrlAllowed, type RegistryEndpoint } from "./host.js";
import type { Credentials, Keychain } from "./keychain.js";
import { repositoryOfScope, type Action } from "./names.js";
import type { SecretSet } from "./redact.js";
import { redactUrl } from "./redact.js";
import { authError, errorFromResponse, type ErrorContext } from "./response-error.js";
import type { RetryInfo, RetryPolicy } from "./retry.js";
import { describeIssues, tokenResponseSchema } from "./schemas.js";
import { exchange } from "./retry.js";

export type AuthScheme = "none" | "basic" | "bearer";

export interface AuthenticatorOptions {
  endpoint: RegistryEndpoint;
  keychain: Keychain;
  http: HttpOptions;
  policy: RetryPolicy;
  secrets: SecretSet;
  onRetry?: ((info: RetryInfo & { step: string }) => void) | undefined;
  now?: () => number;
}

interface Token {
  value: string;
  expiresAt: number;
}

const DEFAULT_TOKEN_TTL_S = 60;
const MAX_TOKEN_RESPONSE = 1 << 20;

export class Authenticator {
  readonly #o: AuthenticatorOptions;
  #scheme: AuthScheme | undefined;
  #realm: URL | undefined;
  #service: string | undefined;
  #credentials: Promise<Credentials | undefined> | undefined;
  readonly #tokens = new Map<string, Promise<Token>>();
  /** How many tokens we fetched (for tests and debugging). */
  tokenFetches = 0;

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
  }

  /** The scheme learnt so far (undefined until the registry challenged us or answered a ping). */
  get scheme(): AuthScheme | undefined {
    return this.#scheme;
  }

  /** The keychain's credentials for this registry, looked up once. */
  credentials(): Promise<Credentials | undefined> {
    this.#credentials ??= this.#o.keychain.resolve(this.#o.endpoint.name).then((c) => {
      if (c) this.#o.secrets.add(c.password, c.identityToken, c.registryToken, basic(c));
      return c;
    });
    return this.#credentials;
  }

  /** Credential source for messages; never throws (a broken keychain is reported elsewhere). */
  async credentialSource(): Promise<string | undefined> {
    try {
      return (await this.credentials())?.source;
    } catch {
      return undefined;
    }
  }

  /** Records what GET /v2/ told us: no challenge = no auth needed. */
  learn(challengeHeader: string | string[] | undefined): AuthScheme {
    const challenge = selectChallenge(parseChallenges(challengeHeader));
    if (!challenge) {
      this.#scheme = "none";
      return "none";
    }
    this.#adopt(challenge);
    return this.#scheme ?? "none";
  }

  /** The Authorization header for a request needing these scopes, if any. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    if (this.#scheme === "basic") {
      const credentials = await this.credentials();
      return credentials ? basicHeader(credentials) : undefined;
    }
    if (this.#scheme === "bearer") {
      const credentials = await this.credentials();
      if (credentials?.registryToken) return `Bearer ${credentials.registryToken}`;
      return `Bearer ${await this.#token(scopes)}`;
    }
    return undefined;
  }

  /**
   * The registry answered 401. Returns the scopes to retry with when a retry can help (a new scheme,
   * or a fresh token), or undefined when it cannot (the credentials themselves were refused).
   */
  async challenged(
    challengeHeader: string | string[] | undefined,
    scopes: string[],
    sent: string | undefined,
  ): Promise<string[] | undefined> {
    const challenge = selectChallenge(parseChallenges(challengeHeader));
    if (!challenge) return undefined;
    const previous = this.#scheme;
    this.#adopt(challenge);
    const credentials = await this.credentials();
    if (challenge.scheme === "basic") {
      if (sent && previous === "basic") return undefined; // our user/password were refused
      return credentials && basicHeader(credentials) ? scopes : undefined;
    }
    const merged = mergeScopes(scopes, challenge.params.scope?.split(" ").filter(Boolean) ?? []);
    if (sent?.startsWith("Bearer ")) {
      if (credentials?.registryToken) return undefined; // a fixed token cannot be refreshed
      // Forget the token that was refused, unless a concurrent request already replaced it.
      for (const key of new Set([scopeKey(merged), scopeKey(scopes)])) {
        const cached = this.#tokens.get(key);
        const token = await cached?.catch(() => undefined);
        if (cached && this.#tokens.get(key) === cached && (!token || `Bearer ${token.value}` === sent)) {
          this.#tokens.delete(key);
        }
      }
    }
    return merged;
  }

  #adopt(challenge: Challenge): void {
    if (challenge.scheme === "basic") {
      this.#scheme = "basic";
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) {
      throw new RegistryResponseError(`registry ${this.#o.endpoint.name} sent a Bearer challenge without a realm`);
    }
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryResponseError(`registry ${this.#o.endpoint.name} sent an invalid token realm "${redactUrl(realm)}"`);
    }
    if (!isUrlAllowed(url, this.#o.endpoint)) {
      throw new RegistryResponseError(
        `registry ${this.#o.endpoint.name} sent a token realm that is not https (${redactUrl(url)}); refusing to send credentials there`,
        { hint: "if you trust the network, mark the registry insecure" },
      );
    }
    if (this.#realm?.href !== url.href || this.#service !== challenge.params.service) this.#tokens.clear();
    this.#scheme = "bearer";
    this.#realm = url;
    this.#service = challenge.params.service;
  }

  async #token(scopes: string[]): Promise<string> {
    const key = scopeKey(scopes);
    const now = this.#o.now ?? Date.now;
    const cached = this.#tokens.get(key);
    if (cached) {
      try {
        const token = await cached;
        if (token.expiresAt > now()) return token.value;
      } catch {
        // failed fetch: fetch again below
      }
      if (this.#tokens.get(key) === cached) this.#tokens.delete(key);
    }
    const pending = this.#tokens.get(key) ?? this.#fetchToken(scopes);
    this.#tokens.set(key, pending);
    try {
      return (await pending).value;
    } catch (error) {
      if (this.#tokens.get(key) === pending) this.#tokens.delete(key);
      throw error;
    }
  }

  async #fetchToken(scopes: string[]): Promise<Token> {
    const realm = this.#realm;
    if (!realm) throw new RegistryResponseError(`registry ${this.#o.endpoint.name}: no token realm known`);
    const credentials = await this.credentials();
    const target = `token server ${realm.host} (for registry ${this.#o.endpoint.name})`;
    const repository = scopes.map(repositoryOfScope).find(Boolean);
    const action: Action = scopes.some((s) => /:(?:[^:]*,)?push(?:,|$)/.test(s)) ? "push" : "pull";
    const now = this.#o.now ?? Date.now;

    const send = (): Promise<HttpResponse> => {
      const url = new URL(realm.href);
      if (credentials?.identityToken) {
        const form = new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: credentials.identityToken,
          client_id: "flowpack",
          scope: scopes.join(" "),
        });
        if (this.#service) form.set("service", this.#service);
        return httpRequest(
          url,
          {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: form.toString(),
          },
          this.#o.http,
          target,
        );
      }
      if (this.#service) url.searchParams.set("service", this.#service);
      for (const scope of scopes) url.searchParams.append("scope", scope);
      const headers: Record<string, string> = {};
      const auth = credentials ? basicHeader(credentials) : undefined;
      if (auth) headers.authorization = auth;
      return httpRequest(url, { method: "GET", headers }, this.#o.http, target);
    };

    const ctx: ErrorContext = {
      registry: this.#o.endpoint.name,
      origin: this.#o.endpoint.origin,
      method: credentials?.identityToken ? "POST" : "GET",
      target,
      repository,
      action,
      credentialSource: credentials?.source,
      keychain: this.#o.keychain.describe?.(),
      secrets: this.#o.secrets,
      signal: this.#o.http.signal,
    };

    const body = await exchange(this.#o.policy, {
      step: { target, step: "token request" },
      retry: true,
      send,
      errorFor: (res) => errorFromResponse(res, ctx),
      read: async (res) => {
        if (res.status === 401 || res.status === 403) {
          await discard(res.body);
          throw authError(res.status, ctx, [], "");
        }
        if (res.status !== 200) throw await errorFromResponse(res, ctx);
        return readBody(res, MAX_TOKEN_RESPONSE, "token response", target, ctx.method, this.#o.http.signal);
      },
      signal: this.#o.http.signal,
      onRetry: (info) => this.#o.onRetry?.({ ...info, step: "token" }),
    });

    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      json = undefined;
    }
    const parsed = tokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new RegistryResponseError(`${target} answered with an invalid token response: ${describeIssues(parsed.error)}`);
    }
    const value = (parsed.data.token || parsed.data.access_token) as string;
    this.#o.secrets.add(value, parsed.data.refresh_token);
    this.tokenFetches++;
    const ttlMs = (parsed.data.expires_in ?? DEFAULT_TOKEN_TTL_S) * 1000;
    // Refresh a little early so a token does not expire between our check and the registry's.
    return { value, expiresAt: now() + ttlMs * 0.9 };
  }
}

function splitScope(scope: string): [resource: string, actions: string[]] {
  const colon = scope.lastIndexOf(":");
  if (colon < 0) return [scope, []];
  return [scope.slice(0, colon), scope.slice(colon + 1).split(",").filter(Boolean)];
}

/**
 * The scopes we asked for plus those a challenge names, without asking twice for one resource:
 * `repository:a:pull` is already covered by `repository:a:pull,push`; new resources go first
 * (some token servers read only the first scope).
 */
export function mergeScopes(requested: string[], fromChallenge: string[]): string[] {
  const out = [...requested];
  for (const scope of fromChallenge) {
    const [resource, actions] = splitScope(scope);
    const index = out.findIndex((s) => splitScope(s)[0] === resource);
    if (index < 0) {
      out.unshift(scope);
      continue;
    }
    const have = splitScope(out[index] as string)[1];
    const union = [...new Set([...have, ...actions])];
    if (union.length !== have.length) out[index] = `${resource}:${union.join(",")}`;
  }
  return out;
}

function scopeKey(scopes: string[]): string {
  return [...new Set(scopes)].sort().join(" ");
}

function basic(credentials: Credentials): string | undefined {
  if (credentials.username === undefined || !credentials.password) return undefined;
  return Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
}

function basicHeader(credentials: Credentials): string | undefined {
  const encoded = basic(credentials);
  return encoded ? `Basic ${encoded}` : undefined;
}
