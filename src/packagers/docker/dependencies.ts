import type { InstalledPackage } from "../../environment/node.js";
import type { LayerEntry } from "../../image/layer.js";
import { directoryEntries } from "../../image/layer-directory.js";

/**
 * Files that never belong in an image, wherever they sit in a package's folder: environment files,
 * package-manager credentials, keys, VCS metadata. (Packages from a registry rarely carry them;
 * workspace and `file:` packages are source folders and often do.)
 */
const SECRET_FILE = /(^|\/)(\.env(\..*)?|\.npmrc|\.yarnrc(\.yml)?|\.pnpmrc|\.netrc|\.git|\.ssh|id_(rsa|ecdsa|ed25519)|.*\.(pem|key|p12|pfx))$/i;

export function isSecretPath(relativePath: string): boolean {
  return SECRET_FILE.test(relativePath);
}

/**
 * The dependency layer's entries: each installed package's folder at `<appDir>/<target>`, without
 * its own node_modules (nested dependencies are placed by the closure, production only) and
 * without secret-looking files.
 */
export async function dependencyEntries(dependencies: InstalledPackage[], appDir: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  for (const dependency of dependencies) {
    const { entries: own } = await directoryEntries(dependency.dir, {
      prefix: `${appDir}/${dependency.target}`,
      filter: (relativePath) =>
        relativePath !== "node_modules" && !relativePath.startsWith("node_modules/") && !isSecretPath(relativePath),
    });
    entries.push(...own);
  }
  return entries;
}
