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
