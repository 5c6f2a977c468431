import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { dirname, join, parse } from "node:path";

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`; relative or absolute → undefined. */
export function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  if (specifier.startsWith("@")) return parts.length >= 2 ? `${parts[0]}/${parts[1]}` : undefined;
  return parts[0] || undefined;
}

export interface PackageInfo {
  name: string;
  version: string;
  /** Real path of the package's folder. */
  dir: string;
  json: Record<string, unknown>;
}

/** Node's lookup: `<dir>/node_modules/<name>` for `dir` and each of its ancestors. */
export function findPackage(name: string, fromDir: string): PackageInfo | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return readPackage(dirname(candidate));
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** findPackage, remembered: for one operation that asks the same questions again (a bundling, a closure walk). */
export function packageFinder(): (name: string, fromDir: string) => PackageInfo | undefined {
  const found = new Map<string, PackageInfo | undefined>();
  return (name, fromDir) => {
    const key = `${name}\0${fromDir}`;
    if (!found.has(key)) found.set(key, findPackage(name, fromDir));
    return found.get(key);
  };
}

export function readPackage(dir: string): PackageInfo | undefined {
  try {
    const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    return {
      name: typeof json.name === "string" ? json.name : parse(dir).base,
      version: typeof json.version === "string" ? json.version : "0.0.0",
      dir: realpathSync(dir),
      json,
    };
  } catch {
    return undefined;
  }
}

const NATIVE_LOADERS = ["node-gyp-build", "bindings", "prebuild-install", "@mapbox/node-pre-gyp", "node-pre-gyp"];

/**
 * A package name made for one platform, the way prebuilt binaries are published (esbuild-style):
 * `@img/sharp-linux-x64`, `@napi-rs/canvas-linux-x64-gnu`, `@swc/core-darwin-arm64`,
 * `lightningcss-linux-x64-musl`, `@parcel/watcher-win32-x64`, `@esbuild/linux-arm64`.
 */
const PLATFORM_PACKAGE = /(?:^|-)(?:(?:linux|linuxmusl|darwin|win32|freebsd|openbsd|netbsd|android|sunos|aix)-(?:x64|arm64|arm|ia32|x86|ppc64|s390x|riscv64|loong64|mips64el|universal|amd64)|wasm32)(?:-|$)/;

/** Whether `name` is a package built for one platform (see PLATFORM_PACKAGE). */
export function isPlatformPackageName(name: string): boolean {
  return PLATFORM_PACKAGE.test(name.startsWith("@") ? name.slice(name.indexOf("/") + 1) : name);
}

/**
 * Whether a package carries a native addon (and so cannot be bundled): a `binding.gyp`,
 * `gypfile: true`, a dependency on a native loader, optional dependencies published per platform
 * (sharp's `@img/sharp-*`, @napi-rs, @swc, lightningcss, @parcel/watcher: the package loads the
 * one for this platform by a computed name, which no bundler can follow), or `.node` files where
 * builds and prebuilt platform packages put them (build/Release, prebuilds, the package root, lib,
 * dist, bin).
 */
export function isNativePackage(pkg: PackageInfo): boolean {
  if (pkg.json.gypfile === true || existsSync(join(pkg.dir, "binding.gyp"))) return true;
  const deps = { ...(pkg.json.dependencies as Record<string, string> | undefined) };
  if (NATIVE_LOADERS.some((loader) => loader in deps)) return true;
  const optional = Object.keys((pkg.json.optionalDependencies ?? {}) as Record<string, string>);
  if (optional.filter(isPlatformPackageName).length >= 2) return true;
  return (
    ["build/Release", "prebuilds"].some((sub) => containsNodeFile(join(pkg.dir, sub), 3)) ||
    ["", "lib", "dist", "bin"].some((sub) => containsNodeFile(join(pkg.dir, sub), 0))
  );
}

function containsNodeFile(dir: string, depth: number): boolean {
  if (depth < 0 || !existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".node")) return true;
    if (entry.isDirectory() && containsNodeFile(join(dir, entry.name), depth - 1)) return true;
  }
  return false;
}

/** The nearest folder at or above `start` that holds a package.json. */
export function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}
