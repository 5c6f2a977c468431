import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Readable, type Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack as tarPack, type Pack as TarPack } from "tar-stream";

export interface TarOutput {
  /** Write to this file, atomically (a temporary sibling renamed at the end, removed on every failure). */
  file?: string;
  /** Or to this stream. */
  sink?: Writable;
  /** Stages between the tar stream and the sink (gzip, hashing). */
  through?: Transform[];
  signal?: AbortSignal;
}

/**
 * Runs `produce` against a fresh tar packer while the packed bytes flow through `through` into the
 * output; whichever side fails first stops the other, and the failure is what is thrown.
 */
export async function writeTar<T>(produce: (pack: TarPack) => Promise<T>, output: TarOutput): Promise<T> {
  const target = output.file === undefined ? undefined : resolve(output.file);
  const temporary = target === undefined ? undefined : `${target}.${randomBytes(6).toString("hex")}.tmp`;
  if (target !== undefined) await mkdir(dirname(target), { recursive: true });
  const sink = temporary !== undefined ? createWriteStream(temporary, { flags: "wx", mode: 0o644 }) : output.sink;
  if (!sink) throw new Error("writeTar needs a file or a sink");

  const pack = tarPack();
  pack.on("error", () => undefined); // a failure surfaces through `producing` / `consuming`
  const producing = produce(pack);
  // tar-stream packs are streamx streams: bridge them through async iteration.
  const streams: NodeJS.ReadWriteStream[] = [Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false }) as never, ...(output.through ?? []), sink as never];
  const consuming = pipeline(streams, output.signal ? { signal: output.signal } : {});
  const stop = (error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error)));
  producing.catch(stop);
  consuming.catch(stop);
  const [produced, consumed] = await Promise.allSettled([producing, consuming]);
  const failure = produced.status === "rejected" ? produced.reason : consumed.status === "rejected" ? consumed.reason : undefined;
  try {
    if (failure !== undefined) throw failure;
    if (target !== undefined && temporary !== undefined) await rename(temporary, target);
  } catch (error) {
    // Every way out without the renamed file leaves nothing behind (a folder in the way of the
    // target made the rename fail after the whole archive was written).
    if (temporary !== undefined) await rm(temporary, { force: true });
    throw error;
  }
  return (produced as PromiseFulfilledResult<T>).value;
}
