/**
 * What resolving a registry base image found, kept on disk, so that a build need not resolve the
 * base again (tag → manifest → config: two or three round trips on the critical path of every
 * code-only push):
 * - manifest and config bytes by digest, forever (content-addressed: checked against the digest
 *   when read back);
 * - a reference + platform → the platform's manifest digest: forever for a digest reference, and
 *   for a tag only `ttlMs` (FLOWPACK_BASE_TTL seconds, default 60), after which the tag is asked
 *   again, so a base image that moves is picked up within that time.
 *
 * `<cache dir>/bases/`. Unreadable or corrupt entries read as missing; failed writes are ignored.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as z from "../_internal/zod-mini.js";
import { cacheRecordPath, readCacheRecord, writeCacheFile } from "../_internal/fs.js";
import { isSha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";

/** Default seconds a base image tag's digest is reused (FLOWPACK_BASE_TTL). */
export const DEFAULT_BASE_TTL_SECONDS = 60;

const refSchema = z.object({ key: z.string(), digest: z.string(), at: z.number() });

export class BaseImageCache {
  readonly dir: string;

  constructor(
    cacheDir: string,
    readonly ttlMs: number = DEFAULT_BASE_TTL_SECONDS * 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(cacheDir, "bases");
  }

  #refFile(key: string): string {
    return cacheRecordPath(join(this.dir, "refs"), key);
  }

  /** The manifest digest `key` resolved to, if still fresh (`pinned`: a digest reference, always fresh). */
  async resolved(key: string, pinned: boolean): Promise<string | undefined> {
    if (!pinned && this.ttlMs <= 0) return undefined;
    const ref = await readCacheRecord(this.#refFile(key), refSchema);
    if (!ref || ref.key !== key || !isSha256Digest(ref.digest)) return undefined;
    const age = this.now() - ref.at;
    if (!pinned && (age < 0 || age > this.ttlMs)) return undefined;
    return ref.digest;
  }

  async remember(key: string, digest: string): Promise<void> {
    await this.#write(this.#refFile(key), `${JSON.stringify({ key, digest, at: this.now() })}\n`);
  }

  /** Bytes stored under `digest`, only if they still hash to it. */
  async blob(digest: string): Promise<Buffer | undefined> {
    if (!isSha256Digest(digest)) return undefined;
    try {
      const bytes = await readFile(join(this.dir, "blobs", digest.slice("sha256:".length)));
      return sha256(bytes) === digest ? bytes : undefined;
    } catch {
      return undefined;
    }
  }

  async store(digest: string, bytes: Uint8Array): Promise<void> {
    if (!isSha256Digest(digest) || sha256(bytes) !== digest) return;
    await this.#write(join(this.dir, "blobs", digest.slice("sha256:".length)), bytes);
  }

  async #write(path: string, data: Uint8Array | string): Promise<void> {
    // a private base's config may hold secrets in its ENV: this user's only
    await writeCacheFile(path, data, { private: true });
  }
}

/** FLOWPACK_BASE_TTL (seconds, ≥ 0) in ms; undefined when it is not a number. */
export function baseTtlMs(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.FLOWPACK_BASE_TTL;
  if (value === undefined || value === "") return DEFAULT_BASE_TTL_SECONDS * 1000;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
