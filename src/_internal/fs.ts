import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { UsageError } from "../errors.js";

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
 * a temporary sibling is written and flushed, then renamed over the target.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes a file the user asked for (`--output`): its folder is created when missing, and a failure
 * is a UsageError naming the path and the reason, not an internal error about a temporary file.
 */
export async function writeOutputFile(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, data);
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${reasonOf(error)}`, { cause: error });
  }
}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EEXIST: "a file is in the way of its folder",
  ENOTDIR: "a parent is not a folder",
  EISDIR: "it is a folder",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
};

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
}
