import { existsSync, statSync } from "node:fs";
import { sha256 } from "../oci/compute-digest.js";
import type { LayerEntry } from "./layer.js";

/**
 * A cache key for entries that come from files: paths, modes and link targets, and for each
 * source file its path, size and modification time (a stat, not a read). The build options are
 * added by `LayerCache.layer`.
 */
export function entriesKey(kind: string, entries: readonly LayerEntry[]): string {
  const parts = entries.map((e) => {
    const content = e.content;
    let source: unknown = null;
    if (content && typeof content === "object" && "fromFile" in content) {
      const info = existsSync(content.fromFile) ? statSync(content.fromFile) : undefined;
      source = [content.fromFile, content.size, info?.mtimeMs ?? -1, info?.ino ?? -1];
    } else if (content !== undefined) {
      source = e.contentDigest ?? sha256(typeof content === "string" ? content : Buffer.from(content));
    }
    return [e.path, e.type, e.mode ?? null, e.uid ?? null, e.gid ?? null, e.linkTarget ?? null, source];
  });
  return JSON.stringify({ kind, version: 1, parts });
}
