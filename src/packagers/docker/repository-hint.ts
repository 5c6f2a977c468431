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
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as z from "../../_internal/zod-mini.js";
import { writeCacheFile } from "../../_internal/fs.js";

const fileSchema = z.object({ version: z.literal(1), repository: z.string().check(z.minLength(1)) });

export class RepositoryHints {
  readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, "repository-hints");
  }

  #file(registry: string, namespace: string, entry: string): string {
    const key = createHash("sha256").update(JSON.stringify([registry, namespace, entry])).digest("hex");
    return join(this.dir, `${key.slice(0, 32)}.json`);
  }

  /** The repository the last push of `entry` to this registry and namespace went to, if one is recorded. */
  async get(registry: string, namespace: string, entry: string): Promise<string | undefined> {
    try {
      const parsed = fileSchema.safeParse(JSON.parse(await readFile(this.#file(registry, namespace, entry), "utf8")));
      return parsed.success ? parsed.data.repository : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records where `entry` was pushed (best effort). */
  async set(registry: string, namespace: string, entry: string, repository: string): Promise<void> {
    try {
      await writeCacheFile(this.#file(registry, namespace, entry), `${JSON.stringify({ version: 1, repository })}\n`);
    } catch {
      // a hint that cannot be written is simply not there next time
    }
  }
}
