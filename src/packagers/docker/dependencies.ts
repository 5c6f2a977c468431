import type { InstalledPackage } from "../../environment/node.js";
import { directoryEntries, type LayerEntry } from "../../image/layer.js";

/**
 * The dependency layer's entries: each installed package's folder at `<appDir>/<target>`, without
 * its own node_modules (nested dependencies are placed by the closure, production only).
 */
export async function dependencyEntries(dependencies: InstalledPackage[], appDir: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  for (const dependency of dependencies) {
    const { entries: own } = await directoryEntries(dependency.dir, {
      prefix: `${appDir}/${dependency.target}`,
      filter: (relativePath) => relativePath !== "node_modules" && !relativePath.startsWith("node_modules/"),
    });
    entries.push(...own);
  }
  return entries;
}
