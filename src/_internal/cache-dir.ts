import { homedir } from "node:os";
import { join, relative, isAbsolute } from "node:path";
import { fileSystemError, isFileSystemFault } from "./fs-errors.js";

/** flowpack's per-user cache folder: `$FLOWPACK_CACHE_DIR`, else `$XDG_CACHE_HOME/flowpack`, else `~/.cache/flowpack`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOWPACK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flowpack");
}

/**
 * Whether `error` means the cache folder itself is unusable (a file in its place, no permission, a
 * full or read-only disk), as opposed to an input that could not be read: a file-system fault with
 * no path (a write) or a path inside `dir`.
 */
export function isCacheFault(error: unknown, dir: string): boolean {
  if (!isFileSystemFault(error)) return false;
  const path = (error as NodeJS.ErrnoException).path;
  if (path === undefined) return true;
  const inside = relative(dir, path);
  return inside === "" || (!inside.startsWith("..") && !isAbsolute(inside));
}

const warned = new Set<string>();

/**
 * The one warning line for an unusable cache folder, the first time per folder in this process
 * (a `--watch` session included); undefined after that. A cache only ever makes things faster:
 * callers go on without it.
 */
export function cacheWarning(dir: string, error: unknown): string | undefined {
  if (warned.has(dir)) return undefined;
  warned.add(dir);
  const fault = fileSystemError(error, dir, { action: "use the cache folder", owner: "user" });
  const said = fault instanceof Error && fault !== error ? fault.message : `cannot use the cache folder at ${dir}: ${error instanceof Error ? error.message : String(error)}`;
  return `${said}; going on without it (slower). Point FLOWPACK_CACHE_DIR at a writable folder with free space`;
}
