/**
 * Digest verification of a byte stream, the one mechanism behind every verified read (registry
 * blobs, OCI layouts, docker archives): bytes pass through while they are hashed and counted, and
 * when the source ends the caller's `atEnd` decides whether they were the expected ones. It returns
 * (or throws) the caller's own error, which fails the stream; so a consumer that reads to the end
 * without error has verified content.
 */
import { createHash, type Hash } from "node:crypto";
import { pipeline, Transform, type Readable, type TransformCallback } from "node:stream";

/** What the bytes turned out to be: their digest (`<algorithm>:<hex>`) and count. */
export interface ActualContent {
  digest: string;
  size: number;
}

export interface DigestCheck {
  /** The hash to compute: "sha256" (default) or "sha512". */
  algorithm?: string;
  /**
   * Fail as soon as more than `size` bytes have passed, with `error()`: for a peer that may send
   * without end. Without it, a stream that is too long fails only at its end.
   */
  limit?: { size: number; error: () => Error } | undefined;
  /** Called once the source has ended: an Error (returned or thrown) fails the stream. */
  atEnd: (actual: ActualContent) => Error | undefined | void;
}

export class DigestCheckStream extends Transform {
  readonly #check: DigestCheck;
  readonly #algorithm: string;
  readonly #hash: Hash;
  #bytes = 0;

  constructor(check: DigestCheck) {
    super();
    this.#check = check;
    this.#algorithm = check.algorithm ?? "sha256";
    this.#hash = createHash(this.#algorithm);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    const limit = this.#check.limit;
    if (limit && this.#bytes > limit.size) {
      callback(limit.error());
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    let error: Error | undefined;
    try {
      error = this.#check.atEnd({ digest: `${this.#algorithm}:${this.#hash.digest("hex")}`, size: this.#bytes }) ?? undefined;
    } catch (thrown) {
      error = thrown instanceof Error ? thrown : new Error(String(thrown));
    }
    callback(error);
  }
}

/** `source` through a DigestCheckStream; a failure of `source` fails the returned stream too. */
export function digestChecked(source: Readable, check: DigestCheck): Readable {
  const checker = new DigestCheckStream(check);
  pipeline(source, checker, () => undefined);
  return checker;
}
