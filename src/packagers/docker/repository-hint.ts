/**
 * Which repository the last push of a flow's entry went to, per registry and namespace: the
 * repository is named after the flow, and its name is known only once the flow has been read from
 * its bundle, yet a code change almost always goes where the last build went. With this hint the
 * oci builder opens its upload sessions there as soon as the code is bundled, while the flow is
 * read, so that the POSTs are off the push's critical path (two round trips after the read
 * instead of three: the PUTs, then the manifest).
 *
 * A hint only: if the flow's name turned out different, the sessions opened on the hint are
 * deleted and new ones opened where the image goes (the cost of the guess is one request). One
 * small JSON file per registry + namespace + entry under `<cache dir>/repository-hints/`;
 * unreadable or corrupt files read as no hint, and a write that fails is ignored.
 */
import { join } from "node:path";
import * as z from "../../_internal/zod-mini.js";
import { cacheRecordPath, readCacheRecord, writeCacheFile } from "../../_internal/fs.js";

const fileSchema = z.object({ version: z.literal(1), key: z.string(), repository: z.string().check(z.minLength(1)) });

export class RepositoryHints {
  readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, "repository-hints");
  }

  /** The repository the last push of `entry` to this registry and namespace went to, if one is recorded. */
  async get(registry: string, namespace: string, entry: string): Promise<string | undefined> {
    const key = keyOf(registry, namespace, entry);
    const record = await readCacheRecord(cacheRecordPath(this.dir, key), fileSchema);
    return record?.key === key ? record.repository : undefined;
  }

  /** Records where `entry` was pushed (best effort). */
  async set(registry: string, namespace: string, entry: string, repository: string): Promise<void> {
    const key = keyOf(registry, namespace, entry);
    await writeCacheFile(cacheRecordPath(this.dir, key), `${JSON.stringify({ version: 1, key, repository })}\n`);
  }
}

const keyOf = (registry: string, namespace: string, entry: string): string => JSON.stringify([registry, namespace, entry]);
