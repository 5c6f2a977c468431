import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { onPath, type PathRole } from "./fs-errors.js";
import type * as z from "./zod-mini.js";

/** `to` relative to `from`, with POSIX separators (how bundles, manifests and images name files). */
export function relativePosix(from: string, to: string): string {
  return relative(from, to).split(sep).join("/");
}

/** Whether a path goes through a `node_modules` folder (an installed package, not the project's own source). */
export function inNodeModules(path: string): boolean {
  return path.split(sep).includes("node_modules");
}

/**
 * Writes `data` to `path` so that readers see either the old file or the whole new one:
 * a temporary sibling is written and flushed, then renamed over the target. The temporary is
 * removed on every failure (a full disk, a folder in the way of the target). `mode`: 0o600 for what
 * only this user may read (cached configs of private images, code that is run).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes a cache file, best effort: its folder created when missing, the file written whole or not
 * at all, and a failure ignored (a cache only makes things faster). `private`: the folder 0700 and
 * the file 0600, for what only this user may read (a private base's config, code that is run).
 */
export async function writeCacheFile(path: string, data: Uint8Array | string, options: { private?: boolean } = {}): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, ...(options.private ? { mode: 0o700 } : {}) });
    await writeFileAtomic(path, data, options.private ? 0o600 : 0o644);
  } catch {
    // the next run does without it: asks the registry again, compiles again
  }
}

/**
 * Where a cache keeps the small JSON record named by `key`: `<dir>/<first 32 hex of its sha256>.json`.
 * The record holds its key too, checked when read (a collision or a hand-edited file counts for nothing).
 */
export function cacheRecordPath(dir: string, key: string): string {
  return join(dir, `${createHash("sha256").update(key).digest("hex").slice(0, 32)}.json`);
}

/** A cache record read as `schema` says, or undefined when it is missing, unreadable, not JSON or not of that shape. */
export async function readCacheRecord<S extends z.ZodMiniType>(path: string, schema: S): Promise<z.output<S> | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(path, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes a file the user asked for (`bundle -o`): its folder is created when missing, and a
 * failure is a FileSystemError naming the path and the reason, not an internal error about a
 * temporary file.
 */
export async function writeOutputFile(path: string, data: Uint8Array | string, role: PathRole = { action: "write the file", owner: "user" }): Promise<void> {
  await onPath(path, role, async () => {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, data);
  });
}
