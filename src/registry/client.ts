/**
 * RegistryClient: the OCI distribution API of one registry host, composed from the modules next
 * to it (auth, transport, blobs, manifests, push).
 */
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { Authenticator, type AuthScheme } from "./auth.js";
import type { BlobBody } from "./body.js";
import {
  blobExists,
  getBlob,
  getBlobStream,
  mountBlob,
  pushBlob,
  uploadBlob,
  type BlobContext,
  type BlobSource,
  type GetBlobOptions,
  type PushBlobOptions,
  type PushBlobResult,
} from "./blobs.js";
import { RegistryResponseError } from "./errors.js";
import { UNDICI_CONNECT_TIMEOUT_MS, discard, header, httpRequest, type HttpOptions } from "./http.js";
import { resolveEndpoint, type RegistryEndpoint } from "./host.js";
import { DockerKeychain, type Keychain } from "./keychain.js";
import {
  getManifest,
  headManifest,
  listTags,
  putManifest,
  type Manifest,
  type ManifestDescriptor,
} from "./manifests.js";
import { MANIFEST_MEDIA_TYPES } from "../oci/media-types.js";
import { emitter, type RegistryProgressListener } from "./progress.js";
import { pushManifestWithBlobs, type PushManifestInput, type PushManifestResult } from "./push.js";
import { UploadSessions } from "./upload-sessions.js";
import { SecretSet } from "./redact.js";
import { errorFromResponse } from "./response-error.js";
import { retryPolicy, type RetryPolicy } from "./retry.js";
import { exchange } from "./retry.js";
import { Transport } from "./transport.js";

export interface RegistryClientOptions {
  /** `host[:port]`: "ghcr.io", "127.0.0.1:5000", "docker.io". No scheme. */
  host: string;
  /** Use plain http for this host even though it is not loopback (loopback always uses http). */
  insecure?: boolean;
  /** Use https even for a loopback host. */
  secure?: boolean;
  /** Where credentials come from; default: the docker config (DOCKER_CONFIG or ~/.docker). */
  keychain?: Keychain;
  /** Retry policy, or changes to the default one. */
  retry?: Partial<RetryPolicy>;
  timeouts?: {
    /** Wait for response headers (default 60 s). */
    headersMs?: number;
    /** Longest pause inside a response body (default 300 s). */
    bodyMs?: number;
  };
  /** undici dispatcher (connection pool, proxy agent); default: undici's global one. */
  dispatcher?: Dispatcher;
  userAgent?: string;
  /** Progress of blob pushes; per-call listeners override it. */
  onProgress?: RegistryProgressListener;
  /** Cancels every request of this client. */
  signal?: AbortSignal;
  /** Debug log, one redacted line per HTTP exchange. */
  log?: (line: string) => void;
}

export interface PingResult {
  /** Docker-Distribution-API-Version, when sent (e.g. "registry/2.0"). */
  apiVersion: string | undefined;
  /** What the registry asks for. */
  auth: AuthScheme;
}

type WithProgress<T> = T & { onProgress?: RegistryProgressListener };

export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly policy: RetryPolicy;
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #http: HttpOptions;
  readonly #secrets = new SecretSet();
  readonly #onProgress: RegistryProgressListener | undefined;
  readonly #keychainDescription: string | undefined;

  constructor(options: RegistryClientOptions) {
    this.endpoint = resolveEndpoint(options.host, { insecure: options.insecure === true, secure: options.secure === true });
    this.policy = retryPolicy(options.retry);
    const keychain = options.keychain ?? new DockerKeychain();
    this.#keychainDescription = keychain.describe?.();
    this.#onProgress = options.onProgress;
    this.#http = {
      dispatcher: options.dispatcher,
      signal: options.signal,
      headersTimeoutMs: options.timeouts?.headersMs ?? 60_000,
      bodyTimeoutMs: options.timeouts?.bodyMs ?? 300_000,
      // Connecting cannot be aborted midway: keep it inside the step deadline.
      connectTimeoutMs: Math.min(UNDICI_CONNECT_TIMEOUT_MS, this.policy.stepTimeoutMs),
      userAgent: options.userAgent ?? "flowpack",
      log: options.log,
    };
    const onRetry = (info: { step: string; attempt: number; delayMs: number; error: Error }): void =>
      emitter(this.#onProgress)({
        type: "retry",
        step: info.step,
        attempt: info.attempt,
        delayMs: info.delayMs,
        reason: info.error.message,
      });
    this.#auth = new Authenticator({
      endpoint: this.endpoint,
      keychain,
      http: this.#http,
      policy: this.policy,
      secrets: this.#secrets,
      onRetry,
    });
    this.#transport = new Transport({
      endpoint: this.endpoint,
      authenticator: this.#auth,
      policy: this.policy,
      http: this.#http,
      secrets: this.#secrets,
      keychain: this.#keychainDescription,
      onRetry,
    });
  }

  /** The registry name, e.g. "127.0.0.1:5000" or "docker.io". */
  get host(): string {
    return this.endpoint.name;
  }

  /** How many bearer tokens this client fetched (for tests and diagnostics). */
  get tokenFetches(): number {
    return this.#auth.tokenFetches;
  }

  #ctx(onProgress?: RegistryProgressListener): BlobContext {
    return { transport: this.#transport, progress: emitter(onProgress ?? this.#onProgress) };
  }

  /** GET /v2/: is this a registry, and what authentication does it ask for? */
  async ping(): Promise<PingResult> {
    const url = this.#transport.resolve("/v2/");
    const target = this.#transport.target;
    const ctx = {
      registry: this.endpoint.name,
      origin: this.endpoint.origin,
      method: "GET",
      target,
      secrets: this.#secrets,
      keychain: this.#keychainDescription,
      signal: this.#http.signal,
    };
    // Not through the transport: no authorisation is sent, the answer tells which one to use.
    const res = await exchange(this.policy, {
      step: { target, step: "GET /v2/" },
      retry: true,
      send: () => httpRequest(url, { method: "GET", headers: {} }, this.#http, target),
      errorFor: (r) => errorFromResponse(r, ctx),
      read: (r) => Promise.resolve(r),
      signal: this.#http.signal,
    });
    const apiVersion = header(res.headers, "docker-distribution-api-version");
    if (apiVersion !== undefined && !apiVersion.split(/[\s,]+/).some((v) => v.startsWith("registry/2."))) {
      await discard(res.body);
      throw new RegistryResponseError(`${target} speaks distribution API "${apiVersion}", not registry/2.x`);
    }
    if (res.status === 200) {
      await discard(res.body);
      return { apiVersion, auth: this.#auth.learn(undefined) };
    }
    if (res.status === 401) {
      await discard(res.body);
      return { apiVersion, auth: this.#auth.learn(res.headers["www-authenticate"]) };
    }
    if (res.status === 404) {
      await discard(res.body);
      throw new RegistryResponseError(`${target} does not serve the registry API (GET /v2/ answered 404)`, {
        status: 404,
        hint: "check the registry host and port",
      });
    }
    throw await errorFromResponse(res, ctx);
  }

  /** The blob's size if the repository has it, else undefined. */
  blobExists(repository: string, digest: string): Promise<number | undefined> {
    return blobExists(this.#ctx(), repository, digest);
  }

  /** Cross-repository mount; false when the registry did not mount (then upload it). */
  mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    return mountBlob(this.#ctx(), repository, digest, fromRepository);
  }

  /** Monolithic upload. `body` returns fresh bytes on every call (a retry sends again). */
  uploadBlob(
    repository: string,
    digest: string,
    size: number,
    body: BlobBody,
    options: { onProgress?: RegistryProgressListener } = {},
  ): Promise<void> {
    return uploadBlob(this.#ctx(options.onProgress), repository, digest, size, body);
  }

  /** HEAD (skip when present) → mount (when `mountFrom` is given) → upload. */
  pushBlob(repository: string, blob: BlobSource, options: WithProgress<PushBlobOptions> = {}): Promise<PushBlobResult> {
    return pushBlob(this.#ctx(options.onProgress), repository, blob, options);
  }

  /** The blob's bytes, verified against its digest (and `size` when given). */
  getBlob(repository: string, digest: string, options: GetBlobOptions = {}): Promise<Uint8Array> {
    return getBlob(this.#ctx(), repository, digest, options);
  }

  /** The blob as a stream, verified at its end (the stream fails with DigestMismatchError). */
  getBlobStream(repository: string, digest: string, options: Pick<GetBlobOptions, "size"> = {}): Promise<Readable> {
    return getBlobStream(this.#ctx(), repository, digest, options);
  }

  getManifest(repository: string, reference: string, accept: readonly string[] = MANIFEST_MEDIA_TYPES): Promise<Manifest> {
    return getManifest(this.#transport, repository, reference, accept);
  }

  headManifest(
    repository: string,
    reference: string,
    accept: readonly string[] = MANIFEST_MEDIA_TYPES,
  ): Promise<ManifestDescriptor | undefined> {
    return headManifest(this.#transport, repository, reference, accept);
  }

  /** Returns the manifest's digest (sha256 of the bytes). */
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    return putManifest(this.#transport, repository, reference, bytes, mediaType);
  }

  listTags(repository: string): Promise<string[]> {
    return listTags(this.#transport, repository);
  }

  /** Starts opening `count` upload sessions in `repository` now, for a pushManifest to use (`sessions`). */
  openUploadSessions(repository: string, count: number): UploadSessions {
    const sessions = new UploadSessions(this.#ctx(), repository);
    sessions.open(count);
    return sessions;
  }

  /** Blobs first, a reference check, then the manifest: the tag never points at missing blobs. */
  pushManifest(
    repository: string,
    reference: string,
    input: WithProgress<PushManifestInput>,
  ): Promise<PushManifestResult> {
    return pushManifestWithBlobs(this.#ctx(input.onProgress), this.#transport, repository, reference, input);
  }
}
