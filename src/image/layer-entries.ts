import { LayerError } from "../errors.js";
import { compareCodePoints } from "../oci/image.js";
import type { LayerEntry, Owner } from "./layer.js";

/** Layer entries checked and planned: paths normalised, ids in range, parents added, sorted. */

const MAX_ID = 0o777777; // what a ustar header's 6 octal digits hold

/**
 * Normalises an entry path to `a/b` form: leading `/` and `./`, doubled and trailing slashes go;
 * `..` components, NUL bytes and the root itself are refused.
 */
export function normaliseEntryPath(path: string): string {
  if (typeof path !== "string" || path.length === 0) throw new LayerError(`layer entry path ${JSON.stringify(path)} is empty`);
  if (path.includes("\0")) throw new LayerError(`layer entry path ${JSON.stringify(path)} contains a NUL byte`);
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new LayerError(`layer entry path ${JSON.stringify(path)} contains '..'`, {
        hint: "entry paths are relative to the image root and may not climb out of it",
      });
    }
    parts.push(part);
  }
  if (parts.length === 0) throw new LayerError(`layer entry path ${JSON.stringify(path)} is the root directory`);
  return parts.join("/");
}

export interface PlannedEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  content: Uint8Array | { fromFile: string; size: number } | undefined;
  linkTarget: string | undefined;
}

function checkId(value: number | undefined, what: string, path: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new LayerError(`layer entry ${JSON.stringify(path)}: ${what} must be an integer from 0 to ${MAX_ID} (got ${String(value)})`);
  }
  return value;
}

function planEntry(entry: LayerEntry): PlannedEntry {
  const path = normaliseEntryPath(entry.path);
  const where = `layer entry ${JSON.stringify(path)}`;
  if (entry.type !== "file" && entry.type !== "dir" && entry.type !== "symlink") {
    throw new LayerError(`${where}: type must be "file", "dir" or "symlink" (got ${JSON.stringify(entry.type)})`);
  }
  const defaultMode = entry.type === "dir" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644;
  const mode = entry.mode ?? defaultMode;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new LayerError(`${where}: mode must be permission bits from 0 to 0o7777 (got ${String(entry.mode)})`);
  }
  const planned: PlannedEntry = {
    path,
    type: entry.type,
    mode,
    uid: checkId(entry.uid, "uid", path),
    gid: checkId(entry.gid, "gid", path),
    content: undefined,
    linkTarget: undefined,
  };
  if (entry.type === "file") {
    const content = entry.content ?? new Uint8Array(0);
    if (typeof content === "string") planned.content = Buffer.from(content, "utf8");
    else if (content instanceof Uint8Array) planned.content = content;
    else if (content && typeof content === "object" && typeof content.fromFile === "string") {
      if (!Number.isSafeInteger(content.size) || content.size < 0) {
        throw new LayerError(`${where}: content.size must be the file's size in bytes (got ${String(content.size)})`);
      }
      planned.content = { fromFile: content.fromFile, size: content.size };
    } else {
      throw new LayerError(`${where}: content must be a Buffer, a string or { fromFile, size }`);
    }
    if (entry.linkTarget !== undefined) throw new LayerError(`${where}: only symlinks have a linkTarget`);
  } else {
    if (entry.content !== undefined) throw new LayerError(`${where}: only files have content`);
    if (entry.type === "symlink") {
      if (typeof entry.linkTarget !== "string" || entry.linkTarget.length === 0 || entry.linkTarget.includes("\0")) {
        throw new LayerError(`${where}: a symlink needs a non-empty linkTarget without NUL bytes`);
      }
      planned.linkTarget = entry.linkTarget;
    } else if (entry.linkTarget !== undefined) {
      throw new LayerError(`${where}: only symlinks have a linkTarget`);
    }
  }
  return planned;
}

/** Validated, de-duplicated entries with every parent directory present, in code-point order of path. */
export function planEntries(entries: Iterable<LayerEntry>, parentOwner: Owner): PlannedEntry[] {
  const byPath = new Map<string, PlannedEntry>();
  for (const entry of entries) {
    const planned = planEntry(entry);
    if (byPath.has(planned.path)) {
      throw new LayerError(`layer entry ${JSON.stringify(planned.path)} appears twice`, {
        hint: "each path may occur once in a layer",
      });
    }
    byPath.set(planned.path, planned);
  }
  const owner = { uid: checkId(parentOwner.uid, "parentOwner.uid", "(parents)"), gid: checkId(parentOwner.gid, "parentOwner.gid", "(parents)") };
  for (const planned of [...byPath.values()]) {
    let slash = planned.path.indexOf("/");
    while (slash !== -1) {
      const parent = planned.path.slice(0, slash);
      const existing = byPath.get(parent);
      if (existing === undefined) {
        byPath.set(parent, { path: parent, type: "dir", mode: 0o755, ...owner, content: undefined, linkTarget: undefined });
      } else if (existing.type !== "dir") {
        throw new LayerError(
          `layer entry ${JSON.stringify(planned.path)} is inside ${JSON.stringify(parent)}, which is a ${existing.type}, not a directory`,
        );
      }
      slash = planned.path.indexOf("/", slash + 1);
    }
  }
  return [...byPath.values()].sort((a, b) => compareCodePoints(a.path, b.path));
}

