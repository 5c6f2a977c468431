import { readdirSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Keeps the `keep` most recently written items of the cache folder `dir` (their age: the mtime of
 * `marker(name)`, default the item itself) and removes the others.
 */
export async function pruneOldest(dir: string, keep: number, marker: (name: string) => string = (name) => join(dir, name)): Promise<void> {
  const items = readdirSync(dir)
    .map((name) => {
      try {
        return { name, time: statSync(marker(name)).mtimeMs };
      } catch {
        return { name, time: 0 };
      }
    })
    .sort((a, b) => b.time - a.time);
  for (const old of items.slice(keep)) await rm(join(dir, old.name), { recursive: true, force: true });
}
