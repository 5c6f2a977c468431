/**
 * Validation of the names that end up in registry URL paths (repositories, tags, digests), so that
 * nothing a caller passes can escape its path segment, plus token-scope strings. A malformed name is
 * an ImageReferenceError here as in oci/reference.ts, wherever it is noticed.
 */
import { ImageReferenceError } from "../errors.js";
import { isDigest } from "../oci/digest.js";
import { PATH_COMPONENT_RULE, TAG_RULE } from "../oci/reference.js";

const COMPONENT = PATH_COMPONENT_RULE;
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = new RegExp(`^${TAG_RULE}$`);

export type Action = "pull" | "push";

export function assertRepository(repository: string): void {
  if (repository.length > 255 || !REPOSITORY.test(repository)) {
    throw new ImageReferenceError(
      `invalid repository name "${repository}": use lower-case path components [a-z0-9] separated by "/", ".", "_", "__" or "-"`,
    );
  }
}

export function assertDigest(digest: string, what = "digest"): void {
  if (!isDigest(digest)) {
    throw new ImageReferenceError(`invalid ${what} "${digest}": expected sha256:<64 hex> or sha512:<128 hex>`);
  }
}

/** A manifest reference: a tag or a digest. Returns which one it is. */
export function assertReference(reference: string): "tag" | "digest" {
  if (isDigest(reference)) return "digest";
  if (TAG.test(reference)) return "tag";
  throw new ImageReferenceError(
    `invalid reference "${reference}": expected a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) or a digest (sha256:<hex>)`,
  );
}

/** `repository:<name>:<actions>` as the token spec wants it. */
export function repositoryScope(repository: string, action: Action): string {
  return `repository:${repository}:${action === "push" ? "pull,push" : "pull"}`;
}

/** The repository named by a `repository:<name>:<actions>` scope, if it is one. */
export function repositoryOfScope(scope: string): string | undefined {
  const match = /^repository(?:\([^)]*\))?:(.+):[^:]*$/.exec(scope);
  return match?.[1];
}
