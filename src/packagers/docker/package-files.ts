import packlist from "npm-packlist";
import { inNodeModules } from "../../_internal/fs.js";
import { readPackage } from "../../bundle/packages.js";
import { DependencyFilesError } from "../../errors.js";
import type { LayerEntry } from "../../image/layer.js";
import { directoryEntries } from "../../image/layer-directory.js";
import { normaliseEntryPath } from "../../image/layer-entries.js";
import { isSecretPath } from "./credentials.js";

/**
 * How a package's files are chosen: `installed` — the folder as the registry delivered it (a real
 * folder inside node_modules); `packed` — what `npm pack` would publish (workspace, linked and
 * `file:` packages: source folders, whose real path lies outside any node_modules).
 */
export type FileSelection = "installed" | "packed";

export interface PackageFiles {
  selection: FileSelection;
  entries: LayerEntry[];
  /** Credential files the selection held and the credential list took out (paths relative to the folder, sorted). */
  leftOut: string[];
}

/** The selection rule for a package folder (its real path, as `readPackage` gives it). */
export function fileSelectionOf(realDir: string): FileSelection {
  return inNodeModules(realDir) ? "installed" : "packed";
}

/**
 * The layer entries of one package folder at `prefix`: its selection (see FileSelection), minus its
 * own node_modules (the closure places nested dependencies) and minus every credential file. Only
 * folders that hold a shipped file are entries, so no emptied credential folder is left behind.
 */
export async function packageFiles(realDir: string, prefix: string): Promise<PackageFiles> {
  const selection = fileSelectionOf(realDir);
  const leftOut: string[] = [];
  let entries: LayerEntry[];
  if (selection === "packed") {
    const kept = new Set<string>();
    for (const file of await packedFiles(realDir)) {
      if (isSecretPath(file)) leftOut.push(file);
      else kept.add(file);
    }
    const folders = foldersOf(kept);
    ({ entries } = await directoryEntries(realDir, {
      prefix,
      filter: (relativePath, stats) => (stats.isDirectory() ? folders.has(relativePath) : kept.has(relativePath)),
    }));
  } else {
    // As delivered: one walk of the folder, credentials and its own node_modules taken out on the way.
    ({ entries } = await directoryEntries(realDir, {
      prefix,
      filter: (relativePath, stats) => {
        if (stats.isDirectory()) return relativePath !== "node_modules";
        if (!isSecretPath(relativePath)) return true;
        leftOut.push(relativePath);
        return false;
      },
    }));
    const top = normaliseEntryPath(prefix);
    const inside = (path: string) => path.slice(top.length + 1);
    const folders = foldersOf(entries.filter((entry) => entry.type !== "dir").map((entry) => inside(entry.path)));
    entries = entries.filter((entry) => entry.type !== "dir" || entry.path === top || folders.has(inside(entry.path)));
  }
  return { selection, entries, leftOut: leftOut.sort() };
}

/** Every folder that holds one of `files` (POSIX paths), at any depth. */
function foldersOf(files: Iterable<string>): Set<string> {
  const folders = new Set<string>();
  for (const file of files) {
    for (let slash = file.indexOf("/"); slash !== -1; slash = file.indexOf("/", slash + 1)) folders.add(file.slice(0, slash));
  }
  return folders;
}

/** The files `npm pack` would publish from `dir`: package.json `files`, .npmignore/.gitignore, npm's defaults. */
async function packedFiles(dir: string): Promise<string[]> {
  const pkg = readPackage(dir);
  if (!pkg) throw new DependencyFilesError(`cannot read ${dir}/package.json`, { hint: "a workspace or file: package needs a valid package.json" });
  try {
    return await packlist({ path: dir, package: pkg.json, isProjectRoot: true, edgesOut: new Map() });
  } catch (error) {
    throw new DependencyFilesError(`cannot list the files ${pkg.name} publishes (in ${dir}): ${(error as Error).message}`, {
      hint: "check its package.json `files` and its .npmignore",
      cause: error,
    });
  }
}
