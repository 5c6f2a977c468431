import { createHash } from "node:crypto";
import { Readable } from "node:stream";

/** Small stream helpers shared by the layer writer, the extractor and the archive writer. */

/** Resolves when `writable` can take more data; rejects if it fails or closes first (`what` names it). */
export function drained(writable: NodeJS.EventEmitter, what: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const done = (error?: Error) => {
      writable.off("drain", onDrain);
      writable.off("error", onError);
      writable.off("close", onClose);
      if (error) reject(error);
      else resolvePromise();
    };
    const onDrain = () => done();
    const onError = (error: unknown) => done(error instanceof Error ? error : new Error(String(error)));
    const onClose = () => done(new Error(`${what} closed early`));
    writable.on("drain", onDrain);
    writable.on("error", onError);
    writable.on("close", onClose);
  });
}

/** Passes chunks through while hashing them; `check` gets the sha256 digest and size when the source ends (and may throw). */
export async function* verified(source: AsyncIterable<Buffer>, check: (digest: string, size: number) => void): AsyncGenerator<Buffer> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  check(`sha256:${hash.digest("hex")}`, size);
}

/**
 * A stream of `source` that fails at its end, with `mismatch(actual)`'s error, unless the bytes
 * hash to `expected.digest` and number `expected.size`.
 */
export function verifiedStream(
  source: Readable,
  expected: { digest: string; size: number },
  mismatch: (actual: { digest: string; size: number }) => Error,
): Readable {
  const checked = verified(source, (digest, size) => {
    if (digest !== expected.digest || size !== expected.size) throw mismatch({ digest, size });
  });
  return Readable.from(checked, { objectMode: false });
}
