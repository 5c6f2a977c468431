import { relativePosix } from "../../_internal/fs.js";
import type { InstalledPackage } from "../../environment/node.js";
import { entriesKey } from "../../image/entries-key.js";
import type { LayerEntry } from "../../image/layer.js";
import { ignoreProgress, type ProgressListener } from "../../progress.js";
import { CREDENTIAL_RULES_VERSION } from "./credentials.js";
import { staysInside } from "../../image/contain.js";

/**
 * What decides the dependency layer's files, as one word for cache keys and image tags: a change
 * to the selection rule (package-files.ts) or to the credential list (credentials.ts) changes it,
 * so a layer built under an older rule (perhaps holding credentials) is never reused.
 */
export const DEPENDENCY_SELECTION = `installed-or-packed/credentials-${CREDENTIAL_RULES_VERSION}`;

/**
 * The layer cache key of a dependency layer: its entries (paths, modes, each file's path, size and
 * mtime) and the selection rule that picked them, so a layer cached under another rule is rebuilt.
 */
export function dependencyLayerKey(selection: string, entries: readonly LayerEntry[]): string {
  return entriesKey(`dependencies:${selection}`, entries);
}

export interface DependencyEntriesOptions {
  /** Named in notices: where each package's folder is, relative to it. */
  projectRoot?: string;
  /** Receives one warning per package that had credential files left out (their names, never their contents). */
  onProgress?: ProgressListener;
}

/**
 * The dependency layer's entries: each installed package's files (see packageFiles: as delivered
 * by the registry, or as `npm pack` would publish a source folder) at `<appDir>/<target>`, without
 * its own node_modules (nested dependencies are placed by the closure, production only) and
 * without credential files. Both builders put exactly these entries in the image.
 */
export async function dependencyEntries(dependencies: InstalledPackage[], appDir: string, options: DependencyEntriesOptions = {}): Promise<LayerEntry[]> {
  const progress = options.onProgress ?? ignoreProgress;
  const entries: LayerEntry[] = [];
  if (dependencies.length === 0) return entries;
  // npm-packlist and its file walker load only when there are packages to copy.
  const { packageFiles } = await import("./package-files.js");
  for (const dependency of dependencies) {
    const files = await packageFiles(dependency.dir, `${appDir}/${dependency.target}`);
    entries.push(...files.entries);
    if (files.leftOut.length > 0) {
      progress({ phase: "warning", message: leftOutNotice(files.leftOut, where(dependency, options.projectRoot)) });
    }
  }
  return entries;
}

/** `left out of the dependency layer: 3 credential files in packages/x (.envrc, .aws/credentials, …): credentials never ship`. */
export function leftOutNotice(paths: readonly string[], where: string, shown = 4): string {
  const names = paths.slice(0, shown).join(", ") + (paths.length > shown ? ", …" : "");
  const count = paths.length === 1 ? "1 credential file" : `${paths.length} credential files`;
  return `left out of the dependency layer: ${count} in ${where} (${names}): credentials never ship`;
}

/** The package's folder relative to the project when it lies inside it, else its name. */
function where(dependency: InstalledPackage, projectRoot: string | undefined): string {
  const relative = projectRoot ? relativePosix(projectRoot, dependency.dir) : "";
  return relative && staysInside(relative) ? relative : dependency.name;
}
