import type { Stats } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { posix } from "node:path";

/**
 * Where a symlink lands inside a folder, resolved the way the kernel would: component by
 * component, following symlinks already in the folder. A target whose text stays inside can still
 * leave through another link (`here -> .` then `x -> here/../../etc`); this catches that.
 */

const MAX_LINK_HOPS = 40;

export interface ResolveWithinOptions {
  /** Absolute targets: `root` resolves them from the folder's root (a container's view), `escape` counts them as outside. */
  absolute: "root" | "escape";
}

/** True when a normalised POSIX relative path stays inside (no leading `..`). */
export function staysInside(relativePath: string): boolean {
  return relativePath !== ".." && !relativePath.startsWith("../") && !relativePath.startsWith("/");
}

/** `lstat`, or undefined when nothing is there (ENOENT, ENOTDIR). */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/**
 * Resolves `target` (a symlink's text) found in the directory `fromDir` (components relative to
 * `root`). Returns the landing place as components relative to `root`, or undefined when any step
 * leaves `root`. Parts that do not exist (yet) are judged by their text.
 */
export async function resolveWithin(
  root: string,
  fromDir: readonly string[],
  target: string,
  options: ResolveWithinOptions,
  hops = 0,
): Promise<string[] | undefined> {
  if (hops > MAX_LINK_HOPS) return undefined;
  if (target.startsWith("/") && options.absolute === "escape") return undefined;
  const stack = target.startsWith("/") ? [] : [...fromDir];
  const parts = target.split("/").filter((p) => p !== "" && p !== ".");
  for (const [i, part] of parts.entries()) {
    if (part === "..") {
      if (stack.length === 0) return undefined;
      stack.pop();
      continue;
    }
    stack.push(part);
    const path = join(root, ...stack);
    const info = await lstatOrUndefined(path);
    if (info === undefined || (!info.isDirectory() && !info.isSymbolicLink())) {
      const rest = posix.normalize([...stack, ...parts.slice(i + 1)].join("/"));
      return staysInside(rest) ? rest.split("/").filter((p) => p !== "" && p !== ".") : undefined;
    }
    if (info.isSymbolicLink()) {
      const next = await readlink(path);
      stack.pop();
      const landed = await resolveWithin(root, stack, next, options, hops + 1);
      if (landed === undefined) return undefined;
      stack.splice(0, stack.length, ...landed);
    }
  }
  return stack;
}
