import { existsSync, realpathSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type * as esbuild from "esbuild";
import { asciiOnly } from "./ascii.js";
import { esbuildApi } from "./esbuild.js";
import satisfies from "semver/functions/satisfies.js";
import type { Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { MODULE_TREE, PACKAGE_JSON, PACKAGE_ROOT } from "../_internal/package-root.js";
import { BundleError, UsageError } from "../errors.js";
import { defaultCacheDir } from "../_internal/cache-dir.js";
import { inNodeModules, relativePosix } from "../_internal/fs.js";
import { assetsAt, mayUseLocation, scanModule, type BundleAsset } from "./assets.js";
import { findProjectRoot, isNativePackage, packageFinder, packageNameOf, readPackage, type PackageInfo } from "./packages.js";
import { BUNDLE_FILE, withSourceMapName } from "./files.js";
import { runtimeEntry } from "./flow-runtime.js";
import { facadeSource, fileInputs, initialiserSource, VENDOR_FILE, VENDOR_IMPORT, VendorCache, vendorEntrySource, type CachedVendorFiles, type ModuleFormat, type VendorModule } from "./vendor.js";

export interface ExternalDependency {
  name: string;
  /** Exact version resolved on the build machine. */
  version: string;
  reason: "native" | "user";
}

/** A bundled flow: one ESM file, its source map, and what it needs that was not bundled. */
export interface Bundle {
  code: Buffer;
  map: Buffer;
  /** sha256 of `code`. */
  digest: Sha256Digest;
  /** Folder of the nearest package.json above the entry: paths in the bundle are relative to it. */
  projectRoot: string;
  /** The entry, relative to projectRoot, POSIX separators. */
  entry: string;
  externals: ExternalDependency[];
  warnings: string[];
  /** Absolute paths of the project's own files (outside node_modules) the bundle was built from. */
  sources: string[];
  /**
   * Files beside the code, to ship at `assets/<path>` beside the bundle (see assets.ts): those the
   * code reaches by literal paths, and those `include` names. Sorted by path.
   */
  assets?: BundleAsset[];
  /** With `vendor`: the installed packages the code imports, bundled apart (`flowpack-vendor.mjs` beside it). */
  vendor?: { code: Buffer; map: Buffer; digest: Sha256Digest; mapDigest: Sha256Digest; cached: boolean };
}

export interface BundleOptions {
  /** Package names to leave out of the bundle (installed where the flow runs). */
  external?: string[];
  /**
   * Bundle installed npm packages apart, into `flowpack-vendor.mjs` (Bundle.vendor), cached across
   * builds while their files are unchanged (see vendor.ts), under `cacheDir` (default: flowpack's
   * cache folder, $FLOWPACK_CACHE_DIR). Default: one self-contained file.
   */
  vendor?: boolean | { cacheDir: string };
  /**
   * Called once esbuild has started working (in its own process): work started here overlaps with
   * bundling instead of delaying it (the Docker packager resolves its base image there).
   */
  onBundlerStarted?: () => void;
  /**
   * With `vendor`: called with the cached files of the vendor module the bundle will most likely
   * import (the one this entry had last time) as soon as its record is read, before esbuild has
   * confirmed it and before its bytes are checked: work that needs it (loading it, to read the flow)
   * can start while the code is bundled, and must check the bytes it reads against the digests.
   */
  onVendorCandidate?: (vendor: CachedVendorFiles, projectRoot: string) => void;
  /** Node.js major version to target; defaults to this process's. */
  nodeMajor?: number;
  /**
   * Globs (relative to the project root) of files to ship beside the bundle, besides those the code
   * reaches by literal paths; added to the `"flowpack": { "include": [...] }` field of the project's
   * package.json.
   */
  include?: string[];
}

export { BUNDLE_FILE, withSourceMapName };

// CommonJS dependencies `require()` Node built-ins (and externals) at run time; an ES module has no
// `require`, so the bundle declares one. esbuild treats `require` as a reserved global and renames a
// user's own top-level `require` binding, so the two never clash. (Renaming `require` with
// `define` instead would hide CommonJS dependencies' relative requires from the bundler.)
const REQUIRE_SHIM = 'import { createRequire as __flowpackCreateRequire } from "node:module";\nconst require = __flowpackCreateRequire(import.meta.url);';


export async function bundleFlow(entryPath: string, options: BundleOptions = {}): Promise<Bundle> {
  const entry = resolve(entryPath);
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new UsageError(`flow entry not found: ${entryPath}`, { hint: "pass the path of the .ts/.js file that defines the flow" });
  }
  const realEntry = realpathSync(entry);
  const projectRoot = findProjectRoot(dirname(realEntry));
  const context: BuildContext = {
    entryPath,
    projectRoot,
    userExternal: new Set(options.external ?? []),
    externals: new Map(),
    target: `node${options.nodeMajor ?? Number(process.versions.node.split(".")[0])}`,
    lookup: packageLookup(),
    onBundlerStarted: options.onBundlerStarted,
    onVendorCandidate: options.onVendorCandidate,
    assets: new Map(),
    assetNotes: new Map(),
  };

  const plain = async () => ({ result: await runBuild(context, { entryPoints: [realEntry], outfile: BUNDLE_FILE }), vendor: undefined, notes: [] as string[] });
  let built: { result: BuildOutput; vendor: VendorModule | undefined; notes: string[] };
  if (options.vendor) {
    try {
      built = await vendoredBuild(context, realEntry, options.vendor === true ? undefined : options.vendor.cacheDir);
    } catch (error) {
      if (!(error instanceof BundleError)) throw error;
      // Vendoring is only a way to bundle faster: when it fails, one self-contained file (whose own
      // error, if it fails too, is the one about the code) is what the flow gets.
      built = await plain();
      built.notes.push(`bundled as one file: vendoring the packages failed (${error.message})`);
    }
  } else {
    built = await plain();
  }
  const { result, vendor } = built;

  const code = Buffer.from(result.code);
  const included = await includedAssets(projectRoot, options.include ?? [], built.notes);
  for (const asset of included) context.assets.set(asset.path, asset);
  return {
    code,
    map: Buffer.from(result.map),
    digest: sha256(code),
    projectRoot,
    entry: relativePosix(projectRoot, realEntry),
    externals: [...context.externals.values()].sort((a, b) => a.name.localeCompare(b.name)),
    warnings: [...built.notes, ...context.assetNotes.values(), ...result.warnings],
    sources: fileInputs(result.metafile)
      .map((path) => resolve(projectRoot, path))
      .filter((path) => !inNodeModules(path))
      .sort(),
    assets: [...context.assets.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    ...(vendor ? { vendor: { code: vendor.code, map: vendor.map, digest: vendor.digest, mapDigest: vendor.mapDigest, cached: vendor.cached } } : {}),
  };
}

/** What one bundling shares across its esbuild passes. */
interface BuildContext {
  entryPath: string;
  projectRoot: string;
  userExternal: Set<string>;
  /** Filled by every pass: packages left out of the bundle. */
  externals: Map<string, ExternalDependency>;
  target: string;
  onBundlerStarted: (() => void) | undefined;
  onVendorCandidate: ((vendor: CachedVendorFiles, projectRoot: string) => void) | undefined;
  /** Files the project's modules reach by literal paths (by path in the project); filled by every pass. */
  assets: Map<string, BundleAsset>;
  /** Warnings about those files and about uses that could not be resolved (keyed, so passes do not repeat them). */
  assetNotes: Map<string, string>;
  /** `findPackage` and `isNativePackage`, remembered for this bundling (passes repeat the same lookups). */
  lookup(name: string, fromDir: string): (PackageInfo & { native: boolean }) | undefined;
}

function packageLookup(): BuildContext["lookup"] {
  const find = packageFinder();
  const native = new Map<string, boolean>();
  return (name, fromDir) => {
    const pkg = find(name, fromDir);
    if (!pkg) return undefined;
    if (!native.has(pkg.dir)) native.set(pkg.dir, isNativePackage(pkg));
    return { ...pkg, native: native.get(pkg.dir)! };
  };
}

/** How a pass treats imports of installed packages, when vendoring. */
interface VendorMode {
  /** Every vendorable module the pass met (ids). */
  seen: Set<string>;
  /** Replace those the vendor module has by facades (id → format); the others stay external. */
  facades?: Record<string, ModuleFormat>;
}

interface BuildOutput {
  code: Uint8Array;
  map: Uint8Array;
  metafile: esbuild.Metafile;
  warnings: string[];
}

/** One esbuild pass with flowpack's resolution rules; failures become BundleErrors. */
async function runBuild(context: BuildContext, build: esbuild.BuildOptions, mode?: VendorMode): Promise<BuildOutput> {
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    const pending: Promise<esbuild.BuildResult<{ write: false; metafile: true }>> = esbuildApi.build({
      absWorkingDir: context.projectRoot,
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      target: context.target,
      sourcemap: "linked",
      // Mappings only: stack traces need no embedded sources, and the map ships with every code change.
      sourcesContent: false,
      keepNames: true,
      logLevel: "silent",
      banner: { js: REQUIRE_SHIM },
      ...build,
      plugins: [flowpackResolution(context, mode)],
    });
    const started = context.onBundlerStarted;
    context.onBundlerStarted = undefined;
    started?.();
    result = await pending;
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (Array.isArray(failure.errors) && failure.errors.length > 0) {
      throw new BundleError(`cannot bundle ${context.entryPath}: ${formatMessages(failure.errors)}`, {
        hint: "fix the error above, or mark an unbundleable package with --external NAME",
      });
    }
    throw new BundleError(`cannot bundle ${context.entryPath}: ${(error as Error).message}`);
  }
  const outfile = String(build.outfile);
  const code = result.outputFiles.find((f) => f.path.endsWith(outfile));
  const map = result.outputFiles.find((f) => f.path.endsWith(`${outfile}.map`));
  if (!code || (build.sourcemap !== false && !map)) throw new BundleError(`esbuild produced no output for ${context.entryPath}`);
  return { code: code.contents, map: map?.contents ?? new Uint8Array(), metafile: result.metafile, warnings: result.warnings.map((w) => formatMessages([w])) };
}

/**
 * The flow's code and its vendor module. Usually one esbuild pass: the vendor module this entry had
 * last time (when none of its packages' files changed) and a pass with facades over it; when the
 * pass meets exactly the modules that vendor module holds, that is the result. Otherwise (first
 * build, an import added or removed): a scan pass finds the modules, the vendor module for them is
 * taken from the cache or built, and the pass runs again. The result depends only on the inputs,
 * never on what was built before.
 */
async function vendoredBuild(context: BuildContext, realEntry: string, cacheDir: string | undefined): Promise<{ result: BuildOutput; vendor: VendorModule | undefined; notes: string[] }> {
  const cache = new VendorCache(join(cacheDir ?? defaultCacheDir(), "vendor"));
  const settings = { target: context.target, external: [...context.userExternal].sort() };
  const entry = { projectRoot: context.projectRoot, entry: realEntry, settings };
  const pass = async (vendor: Pick<VendorModule, "formats"> | undefined) => {
    const seen = new Set<string>();
    const result = await runBuild(
      context,
      { entryPoints: [realEntry], outfile: BUNDLE_FILE, banner: { js: vendor ? `${REQUIRE_SHIM}\n${VENDOR_IMPORT}` : REQUIRE_SHIM } },
      { seen, ...(vendor ? { facades: vendor.formats } : {}) },
    );
    return { result, ids: [...seen].sort() };
  };
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id, i) => id === b[i]);

  const previous = await cache.lastIds(entry);
  if (previous) {
    // The last vendor module is used as soon as its record is read; that its bytes match the
    // record and none of its packages' files changed is checked once esbuild is bundling the flow's
    // code, and the result only counts if both hold.
    const candidate = previous.length > 0 ? await cache.peek<VendorExtra>({ projectRoot: context.projectRoot, ids: previous, settings }) : undefined;
    if (previous.length === 0 || candidate) {
      if (candidate) context.onVendorCandidate?.(candidate.files, context.projectRoot);
      const pending = pass(candidate);
      const loaded = candidate?.load(); // while esbuild works
      const unchanged = candidate ? candidate.unchanged() : true;
      const attempt = await pending;
      const vendor = await loaded;
      if (unchanged && (!candidate || vendor) && same(attempt.ids, previous)) return { result: attempt.result, vendor: vendor && adopt(context, vendor), notes: cache.warnings };
    }
  }
  const seen = new Set<string>();
  await runBuild(context, { entryPoints: [realEntry], outfile: BUNDLE_FILE, sourcemap: false }, { seen });
  const ids = [...seen].sort();
  const vendor = ids.length > 0 ? await vendorModule(context, cache, ids, settings) : undefined;
  const final = await pass(vendor);
  await cache.rememberIds(entry, ids);
  return { result: final.result, vendor, notes: cache.warnings };
}

/** The vendor module for `ids`: cached, or built from a generated entry that requires each of them. */
async function vendorModule(context: BuildContext, cache: VendorCache, ids: string[], settings: unknown): Promise<VendorModule> {
  const vendor = await cache.get<VendorExtra>({ projectRoot: context.projectRoot, ids, settings }, async () => {
    const before = new Set(context.externals.keys());
    const output = await runBuild(context, {
      stdin: { contents: vendorEntrySource(ids), resolveDir: context.projectRoot, sourcefile: VENDOR_FILE, loader: "js" },
      outfile: VENDOR_FILE,
    });
    const externals = [...context.externals.values()].filter((e) => !before.has(e.name));
    // ASCII: loaded by every one-shot package (in its reader thread) and every run of the image.
    return { ...output, code: asciiOnly(output.code), extra: { externals } };
  });
  return adopt(context, vendor);
}

/** What a vendor build records besides the module. */
interface VendorExtra {
  externals: ExternalDependency[];
}

/** Externals found inside the packages count for the flow, the vendor module cached or not. */
function adopt(context: BuildContext, vendor: VendorModule & { extra: VendorExtra }): VendorModule {
  for (const external of vendor.extra.externals) context.externals.set(external.name, external);
  return vendor;
}
/**
 * flowpack's resolution rules, as one esbuild plugin: native and `--external` packages stay
 * external (recorded with their versions); `flowpack` is the flow runtime; flowpack's own files
 * live in their own namespace; and, when vendoring, imports of installed packages are recorded
 * (scan) or replaced by facades.
 */
function flowpackResolution(context: BuildContext, mode: VendorMode | undefined): esbuild.Plugin {
  const { projectRoot, userExternal, externals } = context;
  return {
    name: "flowpack-resolution",
    setup(build) {
      ownCopy(build, context);
      moduleLocations(build, context);
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (isBuiltin(args.path) || (args.pluginData as { plain?: boolean } | undefined)?.plain) return undefined;
        const name = packageNameOf(args.path);
        if (!name) return undefined;
        const pkg = context.lookup(name, args.resolveDir);
        if (pkg && (userExternal.has(name) || pkg.native)) {
          externals.set(name, { name, version: pkg.version, reason: userExternal.has(name) ? "user" : "native" });
          return { path: args.path, external: true };
        }
        if (userExternal.has(name)) {
          throw new Error(`external package "${name}" is not installed; run your package manager's install first`);
        }
        if (args.path === "flowpack") {
          // Flows get flowpack's flow runtime only (never the packagers and their dependencies):
          // from the project's own flowpack when it has one, else from the copy that is running.
          const runtime = pkg ? runtimeEntry(resolve(pkg.dir, "dist")) : undefined;
          if (runtime) return { path: runtime, sideEffects: false };
          const own = runtimeEntry(MODULE_TREE);
          if (own) return inOwnNamespace(own);
        }
        if (mode && !(args.pluginData as { own?: boolean } | undefined)?.own) return vendored(build, args, projectRoot, mode);
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: VENDOR_NAMESPACE }, (args) => {
        const id = vendoredIdOf(args.path);
        return { contents: facadeSource(id, mode?.facades?.[id] ?? "cjs"), loader: "js" };
      });
      build.onResolve({ filter: /.*/, namespace: VENDOR_NAMESPACE }, (args) => ({ path: `${args.path}${INIT_SUFFIX}`, namespace: VENDOR_INIT_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: VENDOR_INIT_NAMESPACE }, (args) => ({ contents: initialiserSource(vendoredIdOf(args.path)), loader: "js" }));
    },
  };
}

/**
 * An import of an installed package when vendoring: packages installed in a node_modules folder
 * are vendored; linked and workspace packages (source folders) are bundled with the flow's code.
 */
async function vendored(build: esbuild.PluginBuild, args: esbuild.OnResolveArgs, projectRoot: string, mode: VendorMode): Promise<esbuild.OnResolveResult | undefined> {
  const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { plain: true } });
  if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== "file") return undefined;
  if (!inNodeModules(resolved.path)) return undefined;
  const id = relativePosix(projectRoot, resolved.path); // a vendored module's id: its path in the project
  mode.seen.add(id);
  if (mode.facades && id in mode.facades) return { path: `${id}${FACADE_SUFFIX}`, namespace: VENDOR_NAMESPACE };
  // Scanning, or a module this vendor module lacks (the pass is then done again with one that has it).
  return { path: args.path, external: true };
}

/** Facades over vendored modules, and the initialisers ES-module facades re-export from. */
const VENDOR_NAMESPACE = "flowpack-vendor";
const VENDOR_INIT_NAMESPACE = "flowpack-vendor-init";
// The virtual modules' paths end in a suffix, not in the vendored file's extension: esbuild takes
// a path ending in .mjs (or .cjs) to be an ES (or CommonJS) module whatever its contents.
const FACADE_SUFFIX = " (vendored)";
const INIT_SUFFIX = " (initialiser)";
const vendoredIdOf = (path: string) => path.slice(0, path.lastIndexOf(" ("));

function formatMessages(messages: esbuild.Message[]): string {
  return messages
    .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text))
    .join("; ");
}

/**
 * Files of the running flowpack copy (and the packages it resolves) live in this esbuild namespace,
 * named relative to its own folder, so the bundle's bytes do not depend on where flowpack is
 * installed relative to the project (an npx cache, a global install, another checkout).
 */
const OWN_NAMESPACE = "flowpack";

function inOwnNamespace(path: string): esbuild.OnResolveResult | undefined {
  const rel = relativePosix(PACKAGE_ROOT, path);
  if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
  // flowpack's own modules are side-effect free (package.json "sideEffects": false): unused ones drop out.
  return { path: rel, namespace: OWN_NAMESPACE, ...(inNodeModules(rel) ? {} : { sideEffects: false }) };
}

/**
 * Whether a dependency of flowpack's own copy (zod, for the flow runtime) is taken from the project
 * instead: when the project has it installed at a version flowpack's package.json accepts, as a
 * package manager would dedupe it. The flow and the runtime then share one copy, and the bundle
 * does not carry two (zod is most of a typical bundle).
 */
function sharesWithProject(specifier: string, context: BuildContext): boolean {
  const name = packageNameOf(specifier);
  const range = name ? PACKAGE_JSON.dependencies?.[name] : undefined;
  if (!name || !range) return false;
  const installed = context.lookup(name, context.projectRoot);
  return installed !== undefined && satisfies(installed.version, range);
}

function ownCopy(build: esbuild.PluginBuild, context: BuildContext): void {
  const { projectRoot } = context;
  build.onResolve({ filter: /.*/, namespace: OWN_NAMESPACE }, async (args) => {
    if (isBuiltin(args.path)) return { path: args.path, external: true };
    // Shared with the project: resolved (and vendored) as the project's own import would be. Else
    // from flowpack's folder, and bundled here, never vendored (vendor ids are project paths).
    const shared = sharesWithProject(args.path, context);
    const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: shared ? projectRoot : args.resolveDir, pluginData: { own: !shared } });
    if (resolved.errors.length > 0) return undefined; // esbuild reports it (or tolerates it inside try/catch)
    if (resolved.external) return resolved;
    if (resolved.namespace !== "file") return { path: resolved.path, namespace: resolved.namespace }; // a vendored module's facade
    return inOwnNamespace(resolved.path) ?? { path: resolved.path, sideEffects: resolved.sideEffects };
  });
  build.onLoad({ filter: /.*/, namespace: OWN_NAMESPACE }, async (args) => {
    const file = join(PACKAGE_ROOT, args.path);
    return { contents: await readFile(file), loader: /\.[cm]?ts$/.test(file) ? "ts" : "js", resolveDir: dirname(file) };
  });
}

const LOADERS: Record<string, esbuild.Loader> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".jsx": "jsx" };

/**
 * The project's own modules keep their location in the bundle (see assets.ts): each one that uses
 * it is loaded rewritten, and the files it reaches by literal paths become assets; uses that are not
 * literal are warned about, naming the file and line.
 */
function moduleLocations(build: esbuild.PluginBuild, context: BuildContext): void {
  const { projectRoot } = context;
  build.onLoad({ filter: /\.(?:[cm]?[jt]s|[jt]sx)$/, namespace: "file" }, async (args) => {
    const rel = relativePosix(projectRoot, args.path);
    if (inNodeModules(args.path) || rel.startsWith("../") || isAbsolute(rel)) return undefined;
    const source = await readFile(args.path, "utf8");
    if (!mayUseLocation(source)) return undefined;
    const scan = scanModule(source, args.path, projectRoot);
    const problems: string[] = [];
    for (const target of scan.reached) {
      for (const asset of assetsAt(target, projectRoot, problems)) context.assets.set(asset.path, asset);
    }
    for (const problem of problems) context.assetNotes.set(`${rel}\0${problem}`, `${rel}: a file the code reaches: ${problem}`);
    for (const use of scan.unresolved) {
      context.assetNotes.set(
        `${rel}:${use.line}`,
        `${rel}:${use.line}: \`${use.text}\` reaches a file by a path that is not a literal: flowpack cannot tell which, so none is shipped; name them with --include GLOB (or "flowpack": { "include": [...] } in package.json)`,
      );
    }
    if (scan.contents === undefined) return undefined;
    const ext = args.path.slice(args.path.lastIndexOf("."));
    return { contents: scan.contents, loader: LOADERS[ext] ?? "js" };
  });
}

/** The files the `include` globs (and the package.json `flowpack.include` field) name; a glob that names none is a note. */
async function includedAssets(projectRoot: string, include: string[], notes: string[]): Promise<BundleAsset[]> {
  const patterns = [...packageJsonInclude(projectRoot), ...include];
  const assets: BundleAsset[] = [];
  if (patterns.length === 0) return assets;
  const { glob } = await import("tinyglobby"); // only for a flow that names files to include
  for (const pattern of patterns) {
    const files = await glob(pattern, { cwd: projectRoot, absolute: true, onlyFiles: true, dot: true, ignore: ["**/node_modules/**", "**/.git/**"], expandDirectories: true });
    const problems: string[] = [];
    const found = files.sort().flatMap((file) => assetsAt(file, projectRoot, problems));
    if (found.length === 0) notes.push(`--include ${pattern}: no file in the project matches it`);
    notes.push(...problems.map((problem) => `--include ${pattern}: ${problem}`));
    assets.push(...found);
  }
  return assets;
}

/** The project's `"flowpack": { "include": [...] }` (package.json), validated. */
function packageJsonInclude(projectRoot: string): string[] {
  const field = (readPackage(projectRoot)?.json.flowpack as { include?: unknown } | undefined)?.include;
  if (field === undefined) return [];
  if (!Array.isArray(field) || !field.every((g) => typeof g === "string" && g.trim() !== "")) {
    throw new UsageError(`${join(projectRoot, "package.json")}: "flowpack.include" must be an array of glob strings`, { hint: 'e.g. "flowpack": { "include": ["templates/**"] }' });
  }
  return field as string[];
}
