/**
 * Blob operations: existence (HEAD), cross-repository mount, monolithic upload (POST then PUT),
 * push (HEAD skip → mount → upload), and verified reads (buffered or streaming).
 */
import type { Readable } from "node:stream";
import type { BlobBody } from "./body.js";
import { countedStream } from "./body.js";
import { VerifyingStream, verifyBytes } from "./digest.js";
import { UsageError } from "../errors.js";
import { DigestMismatchError, RegistryError, RegistryResponseError } from "./errors.js";
import { destroyQuietly, discard, header, networkError, readBody, type HttpResponse } from "./http.js";
import { assertDigest, assertRepository, repositoryScope, type Action } from "./names.js";
import type { RegistryProgressListener } from "./progress.js";
import { currentStep } from "./deadline.js";
import { retrying } from "./retry.js";
import type { RegistryRequest, Transport } from "./transport.js";

export interface BlobContext {
  transport: Transport;
  progress: RegistryProgressListener;
}

/** A blob to push: its digest and size, and a function giving its bytes (fresh on every call). */
export interface BlobSource {
  digest: string;
  size: number;
  mediaType?: string;
  body: BlobBody;
}

export interface PushBlobOptions {
  /** Repositories on the same registry that may already hold the blob (tried in order). */
  mountFrom?: string | string[];
  /**
   * Upload without asking first (no HEAD, no mount): for small blobs, where an upload costs about
   * the round trips of a HEAD that finds the blob, and a blob that is new (config, app layer) would
   * otherwise cost HEAD + POST + PUT.
   */
  skipHead?: boolean;
  /** Upload sessions opened ahead: the upload uses one of them instead of a POST of its own. */
  sessions?: { take(): Promise<URL | undefined> };
}

/** `known`: not asked about at all, because the caller's record says the repository has it. */
export type PushBlobStatus = "skipped" | "mounted" | "uploaded" | "known";

export interface PushBlobResult {
  digest: string;
  size: number;
  status: PushBlobStatus;
  /** Bytes sent over the network, retries included (0 when skipped or mounted). */
  bytesSent: number;
  /** The repository it was mounted from. */
  mountedFrom?: string;
}

export interface GetBlobOptions {
  /** Expected size; checked as well as the digest. */
  size?: number;
  /** Refuse a buffered read larger than this (default 512 MiB). */
  maxBytes?: number;
}

const DEFAULT_MAX_BLOB_BYTES = 512 * 1024 * 1024;

function blobPath(repository: string, digest: string): string {
  return `/v2/${repository}/blobs/${digest}`;
}

function scopes(repository: string, action: Action, from?: string): string[] {
  const list = [repositoryScope(repository, action)];
  if (from) list.push(repositoryScope(from, "pull"));
  return list;
}

function contentLength(res: HttpResponse): number | undefined {
  const value = header(res.headers, "content-length");
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function checkDigestHeader(ctx: BlobContext, res: HttpResponse, digest: string, what: string): void {
  const returned = header(res.headers, "docker-content-digest");
  if (returned && returned.split(":", 1)[0] === digest.split(":", 1)[0] && returned !== digest) {
    throw new DigestMismatchError(
      `${ctx.transport.target}: ${what} answered with digest ${returned}, expected ${digest}`,
      { expected: digest, actual: returned },
    );
  }
}

/** The blob's size when it is in the repository, else undefined. */
export async function blobExists(
  ctx: BlobContext,
  repository: string,
  digest: string,
  action: Action = "pull",
): Promise<number | undefined> {
  assertRepository(repository);
  assertDigest(digest);
  const req: RegistryRequest = {
    method: "HEAD",
    url: blobPath(repository, digest),
    scopes: scopes(repository, action),
    repository,
    action,
    step: "HEAD blob",
  };
  const res = await ctx.transport.send(req);
  await discard(res.body);
  if (res.status === 404) return undefined;
  if (res.status !== 200) return ctx.transport.fail(res, req);
  const size = contentLength(res);
  if (size === undefined) {
    throw new RegistryResponseError(`${ctx.transport.target}: HEAD for blob ${digest} in ${repository} gave no Content-Length`);
  }
  return size;
}

type StartedUpload = { mounted: true } | { mounted: false; location: URL };

/** POST /blobs/uploads/ (with ?mount=&from= when `from` is given). Safe to repeat. */
async function startUpload(ctx: BlobContext, repository: string, digest: string, from?: string): Promise<StartedUpload> {
  const query = from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : "";
  const req: RegistryRequest = {
    method: "POST",
    url: `/v2/${repository}/blobs/uploads/${query}`,
    headers: { "content-length": "0" },
    scopes: scopes(repository, "push", from),
    repository,
    action: "push",
    retry: true,
    step: from ? "POST mount" : "POST upload",
  };
  const res = await ctx.transport.send(req);
  if (res.status === 201 && from) {
    await discard(res.body);
    checkDigestHeader(ctx, res, digest, "mount");
    return { mounted: true };
  }
  if (res.status !== 202) return ctx.transport.fail(res, req);
  await discard(res.body);
  const location = header(res.headers, "location");
  if (!location) {
    throw new RegistryResponseError(`${ctx.transport.target}: starting an upload to ${repository} gave no Location`);
  }
  return { mounted: false, location: ctx.transport.resolve(location, res.url) };
}

/** A fresh upload session's location. */
export async function openUpload(ctx: BlobContext, repository: string, digest: string): Promise<URL> {
  const started = await startUpload(ctx, repository, digest);
  if (started.mounted) throw new RegistryResponseError(`${ctx.transport.target}: an upload start answered "mounted"`);
  return started.location;
}

/** DELETE an upload session we will not use. Best effort: a leftover session expires on its own. */
export async function cancelUpload(ctx: BlobContext, repository: string, location: URL): Promise<void> {
  try {
    const res = await ctx.transport.send({
      method: "DELETE",
      url: location,
      scopes: scopes(repository, "push"),
      repository,
      action: "push",
      retry: false,
      step: "DELETE upload",
    });
    await discard(res.body);
  } catch {
    // ignored on purpose
  }
}

/**
 * Cross-repository mount. true = mounted; false = the registry did not mount it (the upload session
 * it opened instead is cancelled), the caller uploads.
 */
export async function mountBlob(ctx: BlobContext, repository: string, digest: string, from: string): Promise<boolean> {
  assertRepository(repository);
  assertRepository(from);
  assertDigest(digest);
  if (from === repository) return false;
  const started = await startUpload(ctx, repository, digest, from);
  if (started.mounted) return true;
  await cancelUpload(ctx, repository, started.location);
  return false;
}

/** The upload location with `digest=` appended, keeping its own query (state tokens) byte for byte. */
export function withDigest(location: URL, digest: string): URL {
  const url = new URL(location.href);
  const param = `digest=${encodeURIComponent(digest)}`;
  url.search = url.search.length > 1 ? `${url.search}&${param}` : `?${param}`;
  return url;
}

interface UploadOptions {
  /** A session already opened (by a mount attempt that did not mount, or ahead); used for the first attempt. */
  location?: URL | undefined;
}

/**
 * Monolithic upload; returns the bytes sent (all attempts).
 *
 * The one retry loop outside the transport: a PUT to an upload location cannot be sent again, so
 * when it fails in a way the policy retries, the whole upload is redone — HEAD (the blob may have
 * landed after all), a fresh POST, PUT again. The transport decides what is worth another attempt
 * and after how long; the HEAD and POST inside retry on their own within this step's deadline and
 * time budget, and what they give up on ends the upload.
 */
async function upload(
  ctx: BlobContext,
  repository: string,
  digest: string,
  size: number,
  body: BlobBody,
  options: UploadOptions = {},
): Promise<number> {
  let bytesSent = 0;
  let pending = options.location;
  const what = `blob ${digest}`;
  const t = ctx.transport;
  await retrying(
    t.policy,
    async (attempt) => {
      if (attempt > 1 && (await blobExists(ctx, repository, digest, "push")) !== undefined) return;
      const location = pending ?? (await openUpload(ctx, repository, digest));
      pending = undefined;
      ctx.progress({ type: "start", repository, digest, size, attempt });
      const req: RegistryRequest = {
        method: "PUT",
        url: withDigest(location, digest),
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body: async () => {
          let last = 0;
          const step = currentStep(); // bytes moving are progress: the step's deadline starts again
          return countedStream(await body(), size, what, (total) => {
            step?.touch();
            bytesSent += total - last;
            last = total;
            ctx.progress({ type: "progress", repository, digest, size, bytes: total });
          });
        },
        scopes: scopes(repository, "push"),
        repository,
        action: "push",
        retry: false,
        step: "PUT blob",
      };
      let res: HttpResponse;
      try {
        res = await t.send(req);
      } catch (error) {
        throw (await t.retrySignal({ error })) ?? error;
      }
      if (res.status === 201 || res.status === 204) {
        await discard(res.body);
        checkDigestHeader(ctx, res, digest, "upload");
        return;
      }
      throw (await t.retrySignal({ res, req })) ?? (await t.errorFor(res, req));
    },
    {
      signal: t.http.signal,
      step: { target: t.target, step: `upload of ${what} to ${repository}` },
      onRetry: (info) =>
        ctx.progress({
          type: "retry",
          repository,
          step: "upload blob",
          attempt: info.attempt,
          delayMs: info.delayMs,
          reason: info.error.message,
        }),
    },
  );
  return bytesSent;
}

/** Monolithic upload of one blob (POST, then PUT with the bytes). */
export async function uploadBlob(
  ctx: BlobContext,
  repository: string,
  digest: string,
  size: number,
  body: BlobBody,
): Promise<void> {
  assertRepository(repository);
  assertDigest(digest);
  assertSize(size);
  const bytesSent = await upload(ctx, repository, digest, size, body);
  ctx.progress({ type: "done", repository, digest, size, bytesSent });
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new UsageError(`invalid blob size ${size}: expected an integer ≥ 0`);
}

/** HEAD (skip if present) → mount from the given repositories → upload. */
export async function pushBlob(
  ctx: BlobContext,
  repository: string,
  blob: BlobSource,
  options: PushBlobOptions = {},
): Promise<PushBlobResult> {
  const { digest, size } = blob;
  assertRepository(repository);
  assertDigest(digest);
  assertSize(size);
  if (!options.skipHead) {
    const existing = await blobExists(ctx, repository, digest, "push");
    if (existing !== undefined) {
      ctx.progress({ type: "skip", repository, digest, size: existing });
      return { digest, size: existing, status: "skipped", bytesSent: 0 };
    }
  }
  const sources = (Array.isArray(options.mountFrom) ? options.mountFrom : options.mountFrom ? [options.mountFrom] : [])
    .filter((from) => from !== repository && !options.skipHead);
  let location: URL | undefined;
  for (const from of sources) {
    assertRepository(from);
    if (location) await cancelUpload(ctx, repository, location);
    const started = await startUpload(ctx, repository, digest, from);
    if (started.mounted) {
      ctx.progress({ type: "mount", repository, digest, size, from });
      return { digest, size, status: "mounted", bytesSent: 0, mountedFrom: from };
    }
    location = started.location; // not mounted: upload into the session the registry opened
  }
  const preOpened = location === undefined ? await options.sessions?.take() : undefined;
  let bytesSent: number;
  try {
    bytesSent = await upload(ctx, repository, digest, size, blob.body, { location: location ?? preOpened });
  } catch (error) {
    // A session opened ahead that the registry no longer knows (expired, purged): once more with a fresh one.
    if (!preOpened || !(error instanceof RegistryError) || error.status !== 404) throw error;
    bytesSent = await upload(ctx, repository, digest, size, blob.body);
  }
  ctx.progress({ type: "done", repository, digest, size, bytesSent });
  return { digest, size, status: "uploaded", bytesSent };
}

function getRequest(repository: string, digest: string): RegistryRequest {
  return {
    method: "GET",
    url: blobPath(repository, digest),
    scopes: scopes(repository, "pull"),
    repository,
    action: "pull",
    step: "GET blob",
  };
}

/** The blob's bytes, verified against digest (and size when given). Retried as a whole. */
export async function getBlob(
  ctx: BlobContext,
  repository: string,
  digest: string,
  options: GetBlobOptions = {},
): Promise<Uint8Array> {
  assertRepository(repository);
  assertDigest(digest);
  const t = ctx.transport;
  const what = `blob ${digest} from ${repository} on ${t.target}`;
  const req = getRequest(repository, digest);
  const read = async (res: HttpResponse): Promise<Uint8Array> => {
    if (res.status !== 200) return t.fail(res, req);
    const declared = contentLength(res);
    const bytes = await readBody(res, options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES, what, t.target, "GET", t.http.signal);
    if (declared !== undefined && declared !== bytes.length) {
      throw new DigestMismatchError(`${what}: Content-Length was ${declared}, received ${bytes.length} bytes`, {
        expected: String(declared),
        actual: String(bytes.length),
        truncated: bytes.length < declared,
      });
    }
    verifyBytes(bytes, digest, options.size, what);
    return bytes;
  };
  return t.request(req, read, `GET blob ${digest} from ${repository}`);
}

/**
 * The blob as a stream. Bytes flow as they arrive; the digest (and size, when given or declared)
 * is checked at the end, and a mismatch fails the stream with DigestMismatchError — so a consumer
 * must not trust the data before the stream has ended without error.
 */
export async function getBlobStream(
  ctx: BlobContext,
  repository: string,
  digest: string,
  options: Pick<GetBlobOptions, "size"> = {},
): Promise<Readable> {
  assertRepository(repository);
  assertDigest(digest);
  const t = ctx.transport;
  const req = getRequest(repository, digest);
  const res = await t.send(req);
  if (res.status !== 200) return t.fail(res, req);
  const declared = contentLength(res);
  if (options.size !== undefined && declared !== undefined && declared !== options.size) {
    destroyQuietly(res.body);
    throw new DigestMismatchError(
      `blob ${digest} from ${repository} on ${t.target}: Content-Length is ${declared}, expected ${options.size}`,
      { expected: String(options.size), actual: String(declared) },
    );
  }
  const verifier = new VerifyingStream(digest, options.size ?? declared, `blob ${digest} from ${repository} on ${t.target}`);
  const source = res.body;
  source.on("error", (error) => verifier.destroy(networkError(error, t.target, "GET", res.url, t.http.signal)));
  verifier.on("close", () => {
    destroyQuietly(source);
  });
  source.pipe(verifier);
  return verifier;
}
