/**
 * Digest verification of a byte stream, the one mechanism behind every verified read (registry
 * blobs, OCI layouts, docker archives): bytes pass through while they are hashed and counted, and
 * when the source ends the caller's `atEnd` decides whether they were the expected ones. It returns
 * (or throws) the caller's own error, which fails the stream; so a consumer that reads to the end
 * without error has verified content.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";

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
  readonly #source: Readable | undefined;
  #bytes = 0;

  /** With a `source`, reads it and destroys it when destroyed itself (a consumer that stops early). */
  constructor(check: DigestCheck, source?: Readable) {
    super();
    this.#check = check;
    this.#source = source;
    this.#algorithm = check.algorithm ?? "sha256";
    this.#hash = createHash(this.#algorithm);
    if (source) {
      source.on("error", (error) => this.destroy(error));
      source.pipe(this);
    }
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

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#source?.destroy();
    callback(error);
  }
}

/**
 * `source` through a DigestCheckStream: a failure of `source` fails the returned stream, and
 * destroying the returned stream destroys `source` at once.
 */
export function digestChecked(source: Readable, check: DigestCheck): Readable {
  return new DigestCheckStream(check, source);
}
