import { readdirSync, type Stats } from "node:fs";
import packlist from "npm-packlist";
import { inNodeModules } from "../../_internal/fs.js";
import { readPackage } from "../../bundle/packages.js";
import { DependencyFilesError } from "../../errors.js";
import { directoryEntries, type LayerEntry } from "../../image/layer.js";
import { isSecretFolder, isSecretPath } from "./credentials.js";

/**
 * How a package's files were chosen: `installed` — the folder as the registry delivered it (a real
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
 * own node_modules (the closure places nested dependencies) and minus every credential file.
 */
export async function packageFiles(realDir: string, prefix: string): Promise<PackageFiles> {
  const selection = fileSelectionOf(realDir);
  const packed = selection === "packed" ? await packedFiles(realDir) : undefined;
  const leftOut: string[] = [];
  const keep = (relativePath: string, stats: Stats): boolean => {
    if (relativePath === "node_modules") return false;
    if (stats.isDirectory()) {
      if (packed && !packed.folders.has(relativePath)) return false;
      if (!isSecretFolder(relativePath)) return true;
      leftOut.push(...filesBelow(realDir, relativePath).filter((file) => !packed || packed.files.has(file)));
      return false;
    }
    if (packed && !packed.files.has(relativePath)) return false;
    if (!isSecretPath(relativePath)) return true;
    leftOut.push(relativePath);
    return false;
  };
  const { entries } = await directoryEntries(realDir, { prefix, filter: keep });
  return { selection, entries, leftOut: leftOut.sort() };
}

/** The files `npm pack` would publish from `dir` (package.json `files`, .npmignore/.gitignore, npm's defaults), and their folders. */
async function packedFiles(dir: string): Promise<{ files: Set<string>; folders: Set<string> }> {
  const pkg = readPackage(dir);
  if (!pkg) throw new DependencyFilesError(`cannot read ${dir}/package.json`, { hint: "a workspace or file: package needs a valid package.json" });
  let list: string[];
  try {
    list = await packlist({ path: dir, package: pkg.json, isProjectRoot: true, edgesOut: new Map() });
  } catch (error) {
    throw new DependencyFilesError(`cannot list the files ${pkg.name} publishes (in ${dir}): ${(error as Error).message}`, {
      hint: "check its package.json `files` and its .npmignore",
      cause: error,
    });
  }
  const files = new Set(list);
  const folders = new Set<string>();
  for (const file of files) {
    for (let slash = file.indexOf("/"); slash !== -1; slash = file.indexOf("/", slash + 1)) folders.add(file.slice(0, slash));
  }
  return { files, folders };
}

/** Regular files and symlinks below `relativePath` in `root` (POSIX paths relative to `root`); names only, nothing is read. */
function filesBelow(root: string, relativePath: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(`${root}/${relativePath}`, { withFileTypes: true })) {
    const path = `${relativePath}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesBelow(root, path));
    else found.push(path);
  }
  return found;
}
