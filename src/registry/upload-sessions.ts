/**
 * Upload sessions opened ahead (`POST /v2/<repo>/blobs/uploads/`), while the caller is still
 * preparing what to upload, so that an upload is one PUT on the critical path instead of POST then
 * PUT. A session that fails to open is simply not there (the upload opens its own and reports any
 * error); the ones left unused are deleted (best effort: a registry expires them anyway).
 */
import { cancelUpload, openUpload, type BlobContext } from "./blobs.js";
import { assertRepository } from "./names.js";

export class UploadSessions {
  readonly #pending: Promise<URL | undefined>[] = [];
  /** How many sessions were opened ahead, and how many of them were used. */
  opened = 0;
  used = 0;

  constructor(
    private readonly ctx: BlobContext,
    readonly repository: string,
  ) {
    assertRepository(repository);
  }

  /** Starts opening `count` more sessions now. */
  open(count: number): void {
    for (let i = 0; i < count; i++) {
      this.opened++;
      this.#pending.push(openUpload(this.ctx, this.repository, "").catch(() => undefined));
    }
  }

  /** A session opened ahead (waiting for its POST if it is still in flight), or undefined when none is left. */
  async take(): Promise<URL | undefined> {
    const next = this.#pending.shift();
    const location = next ? await next : undefined;
    if (location) this.used++;
    return location;
  }

  /** Deletes the sessions nobody took. */
  async close(): Promise<void> {
    const left = this.#pending.splice(0);
    await Promise.all(
      left.map(async (pending) => {
        const location = await pending;
        if (location) await cancelUpload(this.ctx, this.repository, location);
      }),
    );
  }
}
