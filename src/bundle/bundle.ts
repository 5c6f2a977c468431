import { existsSync, realpathSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import * as esbuild from "esbuild";
import satisfies from "semver/functions/satisfies.js";
import { sha256, type Sha256Digest } from "../_internal/digest.js";
import { MODULE_TREE, PACKAGE_JSON, PACKAGE_ROOT } from "../_internal/package-root.js";
import { BundleError, UsageError } from "../errors.js";
import { findPackage, findProjectRoot, isNativePackage, packageNameOf } from "./packages.js";

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
}

export interface BundleOptions {
  /** Package names to leave out of the bundle (installed where the flow runs). */
  external?: string[];
  /** Node.js major version to target; defaults to this process's. */
  nodeMajor?: number;
}

/** File name of the bundle inside packages and images; the map sits beside it. */
export const BUNDLE_FILE = "flow.mjs";

// CommonJS dependencies `require()` Node built-ins (and externals) at run time; an ES module has no
// `require`, so the bundle declares one. esbuild treats `require` as a reserved global and renames a
// user's own top-level `require` binding, so the two never clash. (Renaming `require` with
// `define` instead would hide CommonJS dependencies' relative requires from the bundler.)
const REQUIRE_SHIM = 'import { createRequire as __flowpackCreateRequire } from "node:module";\nconst require = __flowpackCreateRequire(import.meta.url);';

/** The bundle's code with its closing `//# sourceMappingURL=` comment pointing at `mapName`. */
export function withSourceMapName(code: Buffer, mapName: string): Buffer {
  return Buffer.from(code.toString("utf8").replace(/(?<=^|\n)\/\/# sourceMappingURL=[^\r\n]*(?=\s*$)/, `//# sourceMappingURL=${mapName}`));
}

export async function bundleFlow(entryPath: string, options: BundleOptions = {}): Promise<Bundle> {
  const entry = resolve(entryPath);
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new UsageError(`flow entry not found: ${entryPath}`, { hint: "pass the path of the .ts/.js file that defines the flow" });
  }
  const realEntry = realpathSync(entry);
  const projectRoot = findProjectRoot(dirname(realEntry));
  const userExternal = new Set(options.external ?? []);
  const externals = new Map<string, ExternalDependency>();

  const plugin: esbuild.Plugin = {
    name: "flowpack-externals",
    setup(build) {
      ownCopy(build, projectRoot);
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (isBuiltin(args.path)) return undefined;
        const name = packageNameOf(args.path);
        if (!name) return undefined;
        const pkg = findPackage(name, args.resolveDir);
        if (pkg && (userExternal.has(name) || isNativePackage(pkg))) {
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
        return undefined;
      });
    },
  };

  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [realEntry],
      absWorkingDir: projectRoot,
      outfile: BUNDLE_FILE,
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      target: `node${options.nodeMajor ?? Number(process.versions.node.split(".")[0])}`,
      sourcemap: "linked",
      // Mappings only: stack traces need no embedded sources, and the map ships with every code change.
      sourcesContent: false,
      keepNames: true,
      logLevel: "silent",
      banner: { js: REQUIRE_SHIM },
      plugins: [plugin],
    });
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (Array.isArray(failure.errors) && failure.errors.length > 0) {
      throw new BundleError(`cannot bundle ${entryPath}: ${formatMessages(failure.errors)}`, {
        hint: "fix the error above, or mark an unbundleable package with --external NAME",
      });
    }
    throw new BundleError(`cannot bundle ${entryPath}: ${(error as Error).message}`);
  }

  const code = result.outputFiles.find((f) => f.path.endsWith(BUNDLE_FILE));
  const map = result.outputFiles.find((f) => f.path.endsWith(`${BUNDLE_FILE}.map`));
  if (!code || !map) throw new BundleError(`esbuild produced no output for ${entryPath}`);
  const codeBytes = Buffer.from(code.contents);
  return {
    code: codeBytes,
    map: Buffer.from(map.contents),
    digest: sha256(codeBytes),
    projectRoot,
    entry: relative(projectRoot, realEntry).split(sep).join("/"),
    externals: [...externals.values()].sort((a, b) => a.name.localeCompare(b.name)),
    warnings: result.warnings.map((w) => formatMessages([w])),
  };
}


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

/** A flowpack build's flow runtime (`<root>/flow/runtime.js`, or `.ts` in the sources). */
function runtimeEntry(root: string): string | undefined {
  return ["flow/runtime.js", "flow/runtime.ts"].map((p) => resolve(root, p)).find((p) => existsSync(p));
}

function inOwnNamespace(path: string): esbuild.OnResolveResult | undefined {
  const rel = relative(PACKAGE_ROOT, path);
  if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
  // flowpack's own modules are side-effect free (package.json "sideEffects": false): unused ones drop out.
  const own = !rel.split(sep).includes("node_modules");
  return { path: rel.split(sep).join("/"), namespace: OWN_NAMESPACE, ...(own ? { sideEffects: false } : {}) };
}

/**
 * Whether a dependency of flowpack's own copy (zod, for the flow runtime) is taken from the project
 * instead: when the project has it installed at a version flowpack's package.json accepts, as a
 * package manager would dedupe it. The flow and the runtime then share one copy, and the bundle
 * does not carry two (zod is most of a typical bundle).
 */
function sharesWithProject(specifier: string, projectRoot: string): boolean {
  const name = packageNameOf(specifier);
  const range = name ? PACKAGE_JSON.dependencies?.[name] : undefined;
  if (!name || !range) return false;
  const installed = findPackage(name, projectRoot);
  return installed !== undefined && satisfies(installed.version, range);
}

function ownCopy(build: esbuild.PluginBuild, projectRoot: string): void {
  build.onResolve({ filter: /.*/, namespace: OWN_NAMESPACE }, async (args) => {
    if (isBuiltin(args.path)) return { path: args.path, external: true };
    const resolveDir = sharesWithProject(args.path, projectRoot) ? projectRoot : args.resolveDir;
    const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir });
    if (resolved.errors.length > 0) return undefined; // esbuild reports it (or tolerates it inside try/catch)
    if (resolved.external) return resolved;
    return inOwnNamespace(resolved.path) ?? { path: resolved.path, sideEffects: resolved.sideEffects };
  });
  build.onLoad({ filter: /.*/, namespace: OWN_NAMESPACE }, async (args) => {
    const file = join(PACKAGE_ROOT, args.path);
    return { contents: await readFile(file), loader: /\.[cm]?ts$/.test(file) ? "ts" : "js", resolveDir: dirname(file) };
  });
}
