import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../_internal/fs.js";
import { sha256, type Sha256Digest } from "../_internal/digest.js";
import { buildLayer, fileLayer, type BuildLayerOptions, type Layer, type LayerEntry } from "./layer.js";

/** `$FLOWPACK_CACHE_DIR`, else `$XDG_CACHE_HOME/flowpack`, else `~/.cache/flowpack`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOWPACK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flowpack");
}

const infoSchema = z.strictObject({
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  diffId: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  size: z.number().int().nonnegative(),
  mediaType: z.string(),
});

/**
 * Built layers kept on disk, keyed by their inputs, so an unchanged layer (a dependency tree, the
 * host's Node.js runtime) is reused without reading, tarring and gzipping it again.
 */
export class LayerCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  /** The cached layer for `key`, or a freshly built one (then cached). */
  async layer(key: string, entries: () => Promise<LayerEntry[]> | LayerEntry[], options: BuildLayerOptions = {}): Promise<{ layer: Layer; cached: boolean }> {
    const base = join(this.dir, "layers", sha256(key).slice("sha256:".length));
    const cached = await this.read(base);
    if (cached) return { layer: cached, cached: true };
    await mkdir(join(this.dir, "layers"), { recursive: true });
    const built = await buildLayer(await entries(), { ...options, output: { file: `${base}.tar.gz` } });
    const info = { digest: built.digest, diffId: built.diffId, size: built.size, mediaType: built.mediaType };
    await writeFileAtomic(`${base}.json`, JSON.stringify(info));
    return { layer: built, cached: false };
  }

  private async read(base: string): Promise<Layer | undefined> {
    try {
      const info = infoSchema.parse(JSON.parse(await readFile(`${base}.json`, "utf8")));
      const blob = await stat(`${base}.tar.gz`);
      if (blob.size !== info.size) return undefined;
      return fileLayer(`${base}.tar.gz`, { ...info, digest: info.digest as Sha256Digest, diffId: info.diffId as Sha256Digest });
    } catch {
      return undefined;
    }
  }
}

/**
 * A cache key for entries that come from files: paths, modes and link targets, and for each
 * source file its path, size and modification time (a stat, not a read). Build options that change
 * the bytes (mtime, compression) are part of it.
 */
export function entriesKey(kind: string, entries: readonly LayerEntry[], options: Record<string, unknown> = {}): string {
  const parts = entries.map((e) => {
    const content = e.content;
    let source: unknown = null;
    if (content && typeof content === "object" && "fromFile" in content) {
      const info = existsSync(content.fromFile) ? statSync(content.fromFile) : undefined;
      source = [content.fromFile, content.size, info?.mtimeMs ?? -1, info?.ino ?? -1];
    } else if (content !== undefined) {
      source = sha256(typeof content === "string" ? content : Buffer.from(content));
    }
    return [e.path, e.type, e.mode ?? null, e.uid ?? null, e.gid ?? null, e.linkTarget ?? null, source];
  });
  return JSON.stringify({ kind, version: 1, options, parts });
}
