/**
 * A local record of the blobs this machine pushed to (or found in) a repository, so that the next
 * push there need not ask the registry about them (one HEAD each, round trips on the critical path
 * of a code-only change). It is a hint, never the truth: the registry refuses a manifest whose
 * blobs are missing (MANIFEST_BLOB_UNKNOWN), and then the push forgets the record, checks every
 * blob with a HEAD, uploads what is really missing and PUTs the manifest again — so a stale record
 * (a blob deleted or garbage-collected behind our back) costs round trips, not a broken tag.
 *
 * One JSON file per registry + repository under `<cache dir>/registry-blobs/`. Unreadable or
 * corrupt files read as empty; a write that fails is ignored (a cache only makes things faster).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "../_internal/zod-mini.js";
import { cacheRecordPath, readCacheRecord, writeCacheFile } from "../_internal/fs.js";

/** What a push needs of a record: read the known digests, add new ones, forget them all. */
export interface BlobRecord {
  known(registry: string, repository: string): Promise<ReadonlySet<string>>;
  add(registry: string, repository: string, digests: Iterable<string>): Promise<void>;
  forget(registry: string, repository: string): Promise<void>;
}

/** Digests kept per repository (the most recent); older ones are simply checked again. */
export const MAX_RECORDED_BLOBS = 4096;

const fileSchema = z.object({
  version: z.literal(1),
  registry: z.string(),
  repository: z.string(),
  digests: z.array(z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/))),
});

export class FileBlobRecord implements BlobRecord {
  readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, "registry-blobs");
  }

  #file(registry: string, repository: string): string {
    return cacheRecordPath(this.dir, `${registry}/${repository}`);
  }

  async #read(registry: string, repository: string): Promise<string[]> {
    const record = await readCacheRecord(this.#file(registry, repository), fileSchema);
    // A hash collision or a hand-edited file: trust nothing in it.
    if (!record || record.registry !== registry || record.repository !== repository) return [];
    return record.digests;
  }

  async known(registry: string, repository: string): Promise<ReadonlySet<string>> {
    return new Set(await this.#read(registry, repository));
  }

  async add(registry: string, repository: string, digests: Iterable<string>): Promise<void> {
    const fresh = [...digests];
    if (fresh.length === 0) return;
    const freshSet = new Set(fresh);
    const kept = (await this.#read(registry, repository)).filter((d) => !freshSet.has(d));
    const all = [...kept, ...freshSet].slice(-MAX_RECORDED_BLOBS);
    // without a record the next push checks with HEADs
    await writeCacheFile(this.#file(registry, repository), `${JSON.stringify({ version: 1, registry, repository, digests: all })}\n`);
  }

  async forget(registry: string, repository: string): Promise<void> {
    await rm(this.#file(registry, repository), { force: true }).catch(() => undefined);
  }
}
