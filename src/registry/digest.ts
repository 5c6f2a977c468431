/**
 * Content digests: compute (sha256 / sha512), compare, and a pass-through stream that verifies
 * digest and size when the stream ends.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { algorithmOf, computeDigest } from "../oci/digest.js";
import { DigestMismatchError } from "./errors.js";

/** Throws DigestMismatchError unless the bytes have this digest (and size, when given). */
export function verifyBytes(bytes: Uint8Array, digest: string, size: number | undefined, what: string): void {
  if (size !== undefined && bytes.length !== size) {
    throw new DigestMismatchError(`${what}: expected ${size} bytes, received ${bytes.length}`, {
      expected: String(size),
      actual: String(bytes.length),
    });
  }
  const actual = computeDigest(bytes, algorithmOf(digest) ?? "sha256");
  if (actual !== digest) {
    throw new DigestMismatchError(`${what}: content does not match its digest (received ${actual})`, {
      expected: digest,
      actual,
    });
  }
}

/** Passes bytes through; at the end, fails the stream with DigestMismatchError if they were wrong. */
export class VerifyingStream extends Transform {
  readonly #digest: string;
  readonly #size: number | undefined;
  readonly #what: string;
  readonly #hash: Hash;
  #bytes = 0;

  constructor(digest: string, size: number | undefined, what: string) {
    super();
    this.#digest = digest;
    this.#size = size;
    this.#what = what;
    this.#hash = createHash(algorithmOf(digest) ?? "sha256");
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#size !== undefined && this.#bytes > this.#size) {
      callback(
        new DigestMismatchError(`${this.#what}: more than the expected ${this.#size} bytes`, {
          expected: String(this.#size),
          actual: `>${this.#size}`,
        }),
      );
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#size !== undefined && this.#bytes !== this.#size) {
      callback(
        new DigestMismatchError(`${this.#what}: expected ${this.#size} bytes, received ${this.#bytes}`, {
          expected: String(this.#size),
          actual: String(this.#bytes),
        }),
      );
      return;
    }
    const actual = `${algorithmOf(this.#digest) ?? "sha256"}:${this.#hash.digest("hex")}`;
    if (actual !== this.#digest) {
      callback(
        new DigestMismatchError(`${this.#what}: content does not match its digest (received ${actual})`, {
          expected: this.#digest,
          actual,
        }),
      );
      return;
    }
    callback();
  }
}
