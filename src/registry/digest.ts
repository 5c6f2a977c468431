/**
 * Verified reads from a registry: bytes (buffered or streamed) against the digest and size they were
 * asked for, reported as DigestMismatchError. The hashing is _internal/digest-stream.ts's.
 */
import { DigestCheckStream, type ActualContent } from "../_internal/digest-stream.js";
import { algorithmOf } from "../oci/digest.js";
import { computeDigest } from "../oci/compute-digest.js";
import { DigestMismatchError } from "./errors.js";

/** The error for content that is not `digest` (and `size`, when given), or undefined when it is. */
function mismatch(digest: string, size: number | undefined, actual: ActualContent, what: string): DigestMismatchError | undefined {
  if (size !== undefined && actual.size !== size) {
    return new DigestMismatchError(`${what}: expected ${size} bytes, received ${actual.size}`, {
      expected: String(size),
      actual: String(actual.size),
    });
  }
  if (actual.digest !== digest) {
    return new DigestMismatchError(`${what}: content does not match its digest (received ${actual.digest})`, {
      expected: digest,
      actual: actual.digest,
    });
  }
  return undefined;
}

/** Throws DigestMismatchError unless the bytes have this digest (and size, when given). */
export function verifyBytes(bytes: Uint8Array, digest: string, size: number | undefined, what: string): void {
  const error = mismatch(digest, size, { digest: computeDigest(bytes, algorithmOf(digest) ?? "sha256"), size: bytes.length }, what);
  if (error) throw error;
}

/**
 * Passes bytes through; fails the stream with DigestMismatchError as soon as more than `size` bytes
 * arrive, or at the end if the bytes were wrong.
 */
export class VerifyingStream extends DigestCheckStream {
  constructor(digest: string, size: number | undefined, what: string) {
    super({
      algorithm: algorithmOf(digest) ?? "sha256",
      limit:
        size === undefined
          ? undefined
          : {
              size,
              error: () => new DigestMismatchError(`${what}: more than the expected ${size} bytes`, { expected: String(size), actual: `>${size}` }),
            },
      atEnd: (actual) => mismatch(digest, size, actual, what),
    });
  }
}
