import { readdirSync } from "node:fs";
import packlist from "npm-packlist";
import { inNodeModules } from "../../_internal/fs.js";
import { readPackage } from "../../bundle/packages.js";
import { DependencyFilesError } from "../../errors.js";
import type { LayerEntry } from "../../image/layer.js";
import { directoryEntries } from "../../image/layer-directory.js";
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
  const candidates = selection === "packed" ? await packedFiles(realDir) : deliveredFiles(realDir);
  const kept = new Set<string>();
  const leftOut: string[] = [];
  for (const file of candidates) {
    if (isSecretPath(file)) leftOut.push(file);
    else kept.add(file);
  }
  const folders = new Set<string>();
  for (const file of kept) {
    for (let slash = file.indexOf("/"); slash !== -1; slash = file.indexOf("/", slash + 1)) folders.add(file.slice(0, slash));
  }
  const { entries } = await directoryEntries(realDir, {
    prefix,
    filter: (relativePath, stats) => (stats.isDirectory() ? folders.has(relativePath) : kept.has(relativePath)),
  });
  return { selection, entries, leftOut: leftOut.sort() };
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

/** Every file and symlink in `root` but its own node_modules (POSIX paths relative to `root`); names only, nothing is read. */
function deliveredFiles(root: string, relativeDir = ""): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(relativeDir ? `${root}/${relativeDir}` : root, { withFileTypes: true })) {
    const path = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (path !== "node_modules") found.push(...deliveredFiles(root, path));
    } else {
      found.push(path);
    }
  }
  return found;
}
