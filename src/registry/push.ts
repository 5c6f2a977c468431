/**
 * Pushing a manifest together with its blobs, in the only safe order: every blob first, then a
 * check that everything the manifest references is in the repository, then the manifest. So a tag
 * never points at a manifest with missing blobs, and an interrupted push simply runs again (blobs
 * already there are skipped). A manifest PUT refused for an unknown blob (a registry's race while
 * another push links the same blob) is retried once, after the blobs are checked again.
 */
import { UsageError } from "../errors.js";
import { blobExists, pushBlob, type BlobContext, type BlobSource, type PushBlobResult } from "./blobs.js";
import type { UploadSessions } from "./upload-sessions.js";
import { RegistryError, withNote } from "./errors.js";
import { isImageIndex } from "../oci/image.js";
import { headManifest, parseManifestAs, putManifest } from "./manifests.js";
import { assertReference, assertRepository } from "./names.js";
import type { Transport } from "./transport.js";

export interface PushManifestInput {
  /** The manifest (or index) bytes, exactly as they will be stored. */
  manifest: Uint8Array;
  mediaType: string;
  /** Blobs to make sure of first (config and layers). Blobs already in the repository are skipped. */
  blobs: BlobSource[];
  /** Repositories on the same registry to mount blobs from. */
  mountFrom?: string | string[];
  /** Blob pushes in flight at once (default 3). */
  concurrency?: number;
  /**
   * Blobs a local record says the repository has: not asked about (no HEAD). Only a hint: when the
   * registry refuses the manifest, `onRecordRefuted` is called and every blob is checked for real.
   */
  known?: ReadonlySet<string>;
  onRecordRefuted?: () => void | Promise<void>;
  /**
   * Blobs to upload without a HEAD first (default: none, every blob is checked): small blobs of the
   * caller's own (config, app layer), never ones a mount could provide.
   */
  uploadWithoutHead?: (blob: BlobSource) => boolean;
  /** Upload sessions opened ahead; the unused ones are deleted while the manifest is PUT. */
  sessions?: UploadSessions;
}

export interface PushManifestResult {
  digest: string;
  blobs: PushBlobResult[];
  /** Bytes of blob content sent, retries included. */
  bytesSent: number;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (rejected) throw rejected.reason;
  return results;
}

export async function pushManifestWithBlobs(
  ctx: BlobContext,
  t: Transport,
  repository: string,
  reference: string,
  input: PushManifestInput,
): Promise<PushManifestResult> {
  assertRepository(repository);
  assertReference(reference);
  const parsed = parseManifestAs(input.manifest, "the manifest to push", UsageError);

  const unique = [...new Map(input.blobs.map((b) => [b.digest, b])).values()];
  const options = input.mountFrom === undefined ? {} : { mountFrom: input.mountFrom };
  const known = input.known ?? new Set<string>();
  let trustedRecord = false;
  // A failed upload leaves no session opened ahead behind on the registry.
  const uploading = mapLimit(unique, input.concurrency ?? 3, async (blob): Promise<PushBlobResult> => {
    if (known.has(blob.digest)) {
      trustedRecord = true;
      ctx.progress({ type: "skip", repository, digest: blob.digest, size: blob.size });
      return { digest: blob.digest, size: blob.size, status: "known", bytesSent: 0 };
    }
    return pushBlob(ctx, repository, blob, {
      ...options,
      ...(input.uploadWithoutHead?.(blob) ? { skipHead: true } : {}),
      ...(input.sessions ? { sessions: input.sessions } : {}),
    });
  });
  const results = await uploading.catch(async (error: unknown) => {
    await input.sessions?.close().catch(() => undefined);
    throw error;
  });
  // Unused sessions go while the manifest is checked and PUT (not on the critical path).
  const closing = input.sessions?.close() ?? Promise.resolve();

  // Everything the manifest references must be there before the manifest is.
  const pushed = new Set(results.map((r) => r.digest));
  const blobRefs = isImageIndex(parsed) ? [] : [parsed.config, ...parsed.layers];
  for (const ref of blobRefs) {
    if (pushed.has(ref.digest)) continue;
    if ((await blobExists(ctx, repository, ref.digest, "push")) === undefined) {
      throw new RegistryError(
        `cannot push the manifest to ${repository} on ${t.target}: it references blob ${ref.digest}, which was not given and is not in the repository`,
        { hint: "pass every layer and the config blob in `blobs`" },
      );
    }
  }
  for (const ref of isImageIndex(parsed) ? parsed.manifests : []) {
    if ((await headManifest(t, repository, ref.digest)) === undefined) {
      throw new RegistryError(
        `cannot push the index to ${repository} on ${t.target}: it references manifest ${ref.digest}, which is not in the repository`,
        { hint: "push each platform's manifest (by digest) before the index" },
      );
    }
  }
  let digest: string;
  try {
    digest = await putManifest(t, repository, reference, input.manifest, input.mediaType);
  } catch (error) {
    // A refusal after trusting the record: maybe the record lied (a blob deleted behind our back).
    const refuted = trustedRecord && isRefusal(error);
    if (refuted) await input.onRecordRefuted?.();
    if (!isBlobUnknown(error) && !refuted) throw error;
    // Registries can answer this while another push links the same blob into the repository
    // (their own race): check the blobs again, upload what is really missing, and PUT once more.
    const given = new Map(unique.map((b) => [b.digest, b]));
    const repaired: PushBlobResult[] = [];
    for (const ref of blobRefs) {
      if ((await blobExists(ctx, repository, ref.digest, "push")) !== undefined) continue;
      const blob = given.get(ref.digest);
      if (!blob) throw error;
      repaired.push(await pushBlob(ctx, repository, blob, options));
    }
    try {
      digest = await putManifest(t, repository, reference, input.manifest, input.mediaType);
    } catch (again) {
      if (!isBlobUnknown(again) && !(refuted && isRefusal(again))) throw again;
      throw withNote(again, `again after re-checking the manifest's ${blobRefs.length} blobs${repaired.length ? ` and uploading ${repaired.length}` : ""}`);
    }
    for (const r of repaired) {
      const index = results.findIndex((x) => x.digest === r.digest);
      const before = index >= 0 ? results[index] : undefined;
      if (before) results[index] = { ...r, bytesSent: before.bytesSent + r.bytesSent };
      else results.push(r);
    }
  }
  await closing;
  return { digest, blobs: results, bytesSent: results.reduce((sum, r) => sum + r.bytesSent, 0) };
}

/**
 * The registry refused the manifest itself (a 4xx about its content: some registries say
 * MANIFEST_INVALID or NAME_UNKNOWN, not MANIFEST_BLOB_UNKNOWN, for a missing blob). Not a refusal of
 * the caller (401, 403), a timeout (408) or a rate limit (429): those say nothing about the record,
 * and re-checking every blob would only add requests.
 */
function isRefusal(error: unknown): error is RegistryError {
  if (!(error instanceof RegistryError) || error.status === undefined) return false;
  return error.status >= 400 && error.status < 500 && ![401, 403, 408, 429].includes(error.status);
}

const BLOB_UNKNOWN = new Set(["MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"]);

function isBlobUnknown(error: unknown): error is RegistryError {
  return error instanceof RegistryError && error.registryCodes.some((code) => BLOB_UNKNOWN.has(code));
}
