import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/**
 * Private temporary folders that the next run cleans up when their owner was killed (kill -9, a
 * power cut): each is named `<prefix><pid>.<host>-<random>`. Before making one, the folders with the
 * same prefix whose process is gone are removed: same host and a pid that no longer exists. A
 * folder of another host (a shared volume) or of an older flowpack (no pid in its name) is removed
 * only once it is older than STALE_AFTER_MS, so a live run elsewhere is never raced.
 */

/** How old a folder whose owner cannot be checked must be before it is removed. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

let hostTag: string | undefined;

/** This machine, as a short tag in folder names (pids are only comparable on one host); worked out on first use. */
export function hostTagOf(): string {
  return (hostTag ??= createHash("sha256").update(hostname()).digest("hex").slice(0, 8));
}

/** `base/<prefix><pid>.<host>-XXXXXX`, fresh and private (mkdtemp), after removing stale siblings. */
export async function makeOwnedTempDir(base: string, prefix: string): Promise<string> {
  await removeStaleTempDirs(base, prefix);
  return mkdtemp(join(base, `${prefix}${process.pid}.${hostTagOf()}-`));
}

/** Removes the folders (or files) `<prefix>…` in `base` whose owner is gone (see above). Never fails: what cannot be removed stays. */
export async function removeStaleTempDirs(base: string, prefix: string, now: number = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const owner = /^(\d+)\.([0-9a-f]{8})-/.exec(name.slice(prefix.length));
    const path = join(base, name);
    let stale: boolean;
    if (owner && owner[2] === hostTagOf()) {
      stale = Number(owner[1]) !== process.pid && !processExists(Number(owner[1]));
    } else {
      const info = await stat(path).catch(() => undefined);
      stale = info !== undefined && now - info.mtimeMs > STALE_AFTER_MS;
    }
    if (!stale) continue;
    try {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // not ours to remove after all (permissions): leave it
    }
  }
  return removed;
}

/** Whether a process with this pid exists (signal 0 checks without sending anything; EPERM: it exists, not ours). */
function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
