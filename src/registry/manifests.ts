/**
 * Manifests and tags: get (bytes, media type, digest — verified), head, put, list tags.
 *
 * The digest of a manifest is the sha256 of its exact bytes. A digest reference is checked against
 * the bytes; a Docker-Content-Digest header, when the registry sends one, must agree too.
 */
import { ImageFormatError, UsageError } from "../errors.js";
import { algorithmOf } from "../oci/digest.js";
import { computeDigest } from "../oci/compute-digest.js";
import { isImageIndex, parseManifestOrIndex, type ManifestOrIndex } from "../oci/image.js";
import { MANIFEST_MEDIA_TYPES, MediaType } from "../oci/media-types.js";
import { DigestMismatchError, RegistryError, RegistryResponseError } from "./errors.js";
import { discard, header, readBody, type HttpResponse } from "./http.js";
import { assertReference, assertRepository, repositoryScope } from "./names.js";
import { describeIssues, tagListSchema } from "./schemas.js";
import type { RegistryRequest, Transport } from "./transport.js";

/** Registries cap manifests at 4 MiB; so do we. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Manifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

export interface ManifestDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const GENERIC_TYPES = new Set(["", "application/json", "application/octet-stream", "text/plain"]);

function manifestPath(repository: string, reference: string): string {
  return `/v2/${repository}/manifests/${reference}`;
}

function mediaTypeOf(res: HttpResponse): string {
  return (header(res.headers, "content-type") ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

/**
 * The manifest or index in `bytes`. An invalid one is reported with the parser's message as the
 * caller's error: the registry's fault (RegistryResponseError) or the caller's (UsageError).
 */
export function parseManifestAs(
  bytes: Uint8Array,
  what: string,
  As: new (message: string, options: { cause: unknown }) => Error,
): ManifestOrIndex {
  try {
    return parseManifestOrIndex(bytes, what);
  } catch (error) {
    if (error instanceof ImageFormatError) throw new As(error.message, { cause: error });
    throw error;
  }
}

function checkDigestHeader(t: Transport, res: HttpResponse, bytes: Uint8Array, what: string): void {
  const returned = header(res.headers, "docker-content-digest");
  if (!returned) return;
  const algorithm = algorithmOf(returned);
  if (!algorithm) return;
  const actual = computeDigest(bytes, algorithm);
  if (actual !== returned) {
    throw new DigestMismatchError(
      `${t.target}: ${what} has Docker-Content-Digest ${returned}, but its bytes hash to ${actual}`,
      { expected: returned, actual },
    );
  }
}

function request(method: "GET" | "HEAD", repository: string, reference: string, accept: readonly string[]): RegistryRequest {
  return {
    method,
    url: manifestPath(repository, reference),
    headers: { accept: accept.join(", ") },
    scopes: [repositoryScope(repository, "pull")],
    repository,
    action: "pull",
    step: `${method} manifest`,
  };
}

export async function getManifest(
  t: Transport,
  repository: string,
  reference: string,
  accept: readonly string[] = MANIFEST_MEDIA_TYPES,
): Promise<Manifest> {
  assertRepository(repository);
  const kind = assertReference(reference);
  const what = `manifest ${repository}:${reference} on ${t.target}`;
  const req = request("GET", repository, reference, accept);
  // One step from request to the last byte, so a body that stalls fails at the step's deadline.
  const { res, bytes } = await t.request(
    req,
    async (res) => ({ res, bytes: res.status === 200 ? await readBody(res, MAX_MANIFEST_BYTES, what, t.target, "GET", t.http.signal) : undefined }),
    `GET manifest ${repository}:${reference}`,
  );
  if (res.status === 404) {
    const error = await t.errorFor(res, req);
    throw new RegistryError(`${what} was not found`, {
      status: 404,
      registryCodes: error.registryCodes,
      hint: "check the repository and tag, and that the image was pushed",
    });
  }
  if (res.status !== 200 || !bytes) return t.fail(res, req);
  const parsed = parseManifestAs(bytes, what, RegistryResponseError);

  let digest: string;
  if (kind === "digest") {
    const actual = computeDigest(bytes, algorithmOf(reference) ?? "sha256");
    if (actual !== reference) {
      throw new DigestMismatchError(`${what}: the bytes received hash to ${actual}`, { expected: reference, actual });
    }
    digest = reference;
  } else {
    digest = computeDigest(bytes);
  }
  checkDigestHeader(t, res, bytes, what);

  // The manifest's own mediaType is the truth; else a specific Content-Type; else infer from the shape.
  const headerType = mediaTypeOf(res);
  const mediaType =
    parsed.mediaType ??
    (!GENERIC_TYPES.has(headerType) ? headerType : isImageIndex(parsed) ? MediaType.OCI_INDEX : MediaType.OCI_MANIFEST);
  return { bytes, mediaType, digest };
}

/** Digest, media type and size of a manifest, or undefined when there is none. */
export async function headManifest(
  t: Transport,
  repository: string,
  reference: string,
  accept: readonly string[] = MANIFEST_MEDIA_TYPES,
): Promise<ManifestDescriptor | undefined> {
  assertRepository(repository);
  const kind = assertReference(reference);
  const req = request("HEAD", repository, reference, accept);
  const res = await t.send(req);
  await discard(res.body);
  if (res.status === 404) return undefined;
  if (res.status !== 200) return t.fail(res, req);
  const digest = header(res.headers, "docker-content-digest") ?? (kind === "digest" ? reference : undefined);
  const size = Number(header(res.headers, "content-length"));
  const mediaType = mediaTypeOf(res);
  if (!digest || !Number.isSafeInteger(size) || GENERIC_TYPES.has(mediaType)) {
    // Not enough in the headers: ask for the manifest itself.
    const manifest = await getManifest(t, repository, reference, accept);
    return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
  }
  if (kind === "digest" && digest !== reference) {
    throw new DigestMismatchError(`${t.target}: HEAD manifest ${repository}@${reference} answered digest ${digest}`, {
      expected: reference,
      actual: digest,
    });
  }
  return { mediaType, digest, size };
}

/** PUT a manifest under a tag or its digest; returns its digest. Idempotent, so retried. */
export async function putManifest(
  t: Transport,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<string> {
  assertRepository(repository);
  const kind = assertReference(reference);
  const parsed = parseManifestAs(bytes, "putManifest: the manifest", UsageError);
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new UsageError(`putManifest: the manifest is ${bytes.length} bytes; registries accept at most ${MAX_MANIFEST_BYTES}`);
  }
  if (parsed.mediaType && parsed.mediaType !== mediaType) {
    throw new UsageError(`putManifest: mediaType ${mediaType} disagrees with the manifest's own mediaType ${parsed.mediaType}`);
  }
  const digest = computeDigest(bytes, kind === "digest" ? (algorithmOf(reference) ?? "sha256") : "sha256");
  if (kind === "digest" && digest !== reference) {
    throw new UsageError(`putManifest: the manifest's digest is ${digest}, not ${reference}`);
  }
  const req: RegistryRequest = {
    method: "PUT",
    url: manifestPath(repository, reference),
    headers: { "content-type": mediaType, "content-length": String(bytes.length) },
    body: () => bytes,
    scopes: [repositoryScope(repository, "push")],
    repository,
    action: "push",
    step: "PUT manifest",
  };
  const res = await t.send(req);
  if (res.status !== 201 && res.status !== 200 && res.status !== 204) return t.fail(res, req);
  await discard(res.body);
  checkDigestHeader(t, res, bytes, `manifest ${repository}:${reference}`);
  return digest;
}

/** All tags of a repository (following pagination); [] when the repository does not exist. */
export async function listTags(t: Transport, repository: string): Promise<string[]> {
  assertRepository(repository);
  const tags: string[] = [];
  let url: string | URL = `/v2/${repository}/tags/list?n=1000`;
  for (let page = 0; page < 1000; page++) {
    const req: RegistryRequest = {
      method: "GET",
      url,
      scopes: [repositoryScope(repository, "pull")],
      repository,
      action: "pull",
      step: "GET tags",
    };
    const res = await t.send(req);
    if (res.status === 404) {
      await discard(res.body);
      return tags;
    }
    if (res.status !== 200) return t.fail(res, req);
    const body = await readBody(res, 16 * 1024 * 1024, `tag list of ${repository}`, t.target, "GET", t.http.signal);
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      json = undefined;
    }
    const parsed = tagListSchema.safeParse(json);
    if (!parsed.success) {
      throw new RegistryResponseError(`${t.target}: invalid tag list for ${repository}: ${describeIssues(parsed.error)}`);
    }
    tags.push(...(parsed.data.tags ?? []));
    const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(header(res.headers, "link") ?? "")?.[1];
    if (!next) return tags;
    url = t.resolve(next, res.url);
  }
  return tags;
}
