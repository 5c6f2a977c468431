/**
 * Blob bodies. A body is a function returning fresh bytes each time it is called (so a retry can
 * send again); here it becomes a stream that reports progress and checks the byte count.
 */
import { Readable } from "node:stream";
import { RegistryError } from "./errors.js";

export type BlobBodySource = Uint8Array | Readable | AsyncIterable<Uint8Array>;
/** Returns the blob's bytes, fresh on every call. */
export type BlobBody = () => BlobBodySource | Promise<BlobBodySource>;

const CHUNK = 256 * 1024;

async function* chunksOf(source: BlobBodySource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let offset = 0; offset < source.length; offset += CHUNK) yield source.subarray(offset, offset + CHUNK);
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
  }
}

/**
 * A stream of exactly `size` bytes from `source`, calling `onBytes(total)` as they go. A source
 * that yields more or fewer bytes fails the stream (and so the request) with a clear error.
 */
export function countedStream(
  source: BlobBodySource,
  size: number,
  what: string,
  onBytes: (total: number) => void,
): Readable {
  async function* generate(): AsyncGenerator<Uint8Array> {
    let total = 0;
    for await (const chunk of chunksOf(source)) {
      if (chunk.length === 0) continue;
      total += chunk.length;
      if (total > size) throw new RegistryError(`${what}: the body has more than the declared ${size} bytes`);
      yield chunk;
      onBytes(total);
    }
    if (total !== size) throw new RegistryError(`${what}: the body has ${total} bytes, ${size} were declared`);
  }
  return Readable.from(generate(), { objectMode: false });
}
