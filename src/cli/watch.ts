import { statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/**
 * Waits until one of `files` changes and returns the ones that did. Folders are watched, not the
 * files, so an editor's atomic save (write elsewhere, rename over) counts like an in-place write;
 * events are gathered until `quietMs` pass without one, so one save triggers one rebuild. A file
 * already modified after `since` (during the build that produced this list) counts at once.
 * Resolves with [] when `signal` aborts.
 */
export function nextChange(files: readonly string[], options: { since: number; signal: AbortSignal; quietMs?: number }): Promise<string[]> {
  const { since, signal, quietMs = 20 } = options;
  return new Promise((resolve) => {
    const changed = new Set<string>();
    const watchers: FSWatcher[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      signal.removeEventListener("abort", finish);
      resolve(signal.aborted ? [] : [...changed].sort());
    };
    const touched = (path: string) => {
      changed.add(path);
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    if (signal.aborted) return finish();
    signal.addEventListener("abort", finish, { once: true });

    const byFolder = new Map<string, Map<string, string>>();
    for (const file of files) {
      const names = byFolder.get(dirname(file)) ?? new Map<string, string>();
      names.set(basename(file), file);
      byFolder.set(dirname(file), names);
    }
    for (const [folder, names] of byFolder) {
      try {
        const watcher = watch(folder, (_event, name) => {
          const file = name && names.get(name.toString());
          if (file) touched(file);
        });
        watcher.on("error", () => undefined); // a folder that goes away: its files simply stop counting
        watchers.push(watcher);
      } catch {
        // the folder is gone (the file was deleted): the next build reports what that means
      }
    }
    for (const file of files) {
      try {
        if (statSync(file).mtimeMs > since) touched(file);
      } catch {
        touched(file); // deleted since the build read it
      }
    }
  });
}
