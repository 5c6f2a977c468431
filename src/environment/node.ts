import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as z from "../_internal/zod-mini.js";
import type { ExternalDependency } from "../bundle/bundle.js";
import { findProjectRoot, packageFinder } from "../bundle/packages.js";
import { relativePosix } from "../_internal/fs.js";
import { ConfigError } from "../errors.js";

export type PackageManagerName = "npm" | "pnpm" | "yarn";

const LOCKFILES: Record<string, PackageManagerName> = {
  "package-lock.json": "npm",
  "npm-shrinkwrap.json": "npm",
  "pnpm-lock.yaml": "pnpm",
  "yarn.lock": "yarn",
};

const environmentSchema = z.strictObject({
  nodeVersion: z.string().check(z.regex(/^\d+\.\d+\.\d+$/, "expected a Node.js version like 20.11.1")),
  packageManager: z.enum(["npm", "pnpm", "yarn"]),
  packageManagerVersion: z.optional(z.string()),
  /** The lockfile that installed the project's packages, relative to the project root. */
  lockfile: z.optional(z.string()),
  /** Packages the bundle needs at run time (left external), with exact versions. */
  dependencies: z.record(z.string(), z.string()),
  /** Base image variant: `bookworm-slim` (default), `alpine`, … */
  variant: z._default(z.string(), "bookworm-slim"),
});

export type NodeEnvironmentData = z.input<typeof environmentSchema>;

/** The Node.js runtime a flow needs: node version, package manager, external packages. */
export class NodeEnvironment {
  readonly nodeVersion: string;
  readonly packageManager: PackageManagerName;
  readonly packageManagerVersion: string | undefined;
  readonly lockfile: string | undefined;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly variant: string;

  constructor(data: NodeEnvironmentData) {
    const parsed = environmentSchema.safeParse(data);
    if (!parsed.success) {
      throw new ConfigError(`invalid Node environment: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    this.nodeVersion = parsed.data.nodeVersion;
    this.packageManager = parsed.data.packageManager;
    this.packageManagerVersion = parsed.data.packageManagerVersion;
    this.lockfile = parsed.data.lockfile;
    this.dependencies = Object.freeze(sortKeys(parsed.data.dependencies));
    this.variant = parsed.data.variant;
  }

  get nodeMajor(): number {
    return Number(this.nodeVersion.split(".")[0]);
  }

  /** The official base image for this environment: `node:<major>-<variant>`. */
  defaultBaseImage(): string {
    return `node:${this.nodeMajor}-${this.variant}`;
  }

  /** The environment of the project at `projectDir` as this machine runs it (node version = this process's). */
  static fromEnvironment(projectDir: string = process.cwd(), externals: ExternalDependency[] = []): NodeEnvironment {
    const root = findProjectRoot(resolve(projectDir));
    return NodeEnvironment.fromFile(join(root, "package.json"), externals, process.versions.node);
  }

  /**
   * Reads a package.json: the package manager from its `packageManager` field or the nearest
   * lockfile; the node version from `nodeVersion` (default: this process's).
   */
  static fromFile(packageJsonPath: string, externals: ExternalDependency[] = [], nodeVersion = process.versions.node): NodeEnvironment {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(packageJsonPath, "utf8")) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`cannot read ${packageJsonPath}: ${(error as Error).message}`);
    }
    const projectRoot = dirname(resolve(packageJsonPath));
    const lock = findLockfile(projectRoot);
    const declared = typeof json.packageManager === "string" ? /^(npm|pnpm|yarn)@([^+\s]+)/.exec(json.packageManager) : null;
    return new NodeEnvironment({
      nodeVersion,
      packageManager: (declared?.[1] as PackageManagerName | undefined) ?? lock?.manager ?? "npm",
      packageManagerVersion: declared?.[2],
      lockfile: lock ? relativePosix(projectRoot, lock.path) : undefined,
      dependencies: Object.fromEntries(externals.map((e) => [e.name, e.version])),
    });
  }

  /** Commands that install the dependencies inside an image (the in-image install option). */
  installCommands(): string[][] {
    const specs = Object.entries(this.dependencies).map(([name, version]) => `${name}@${version}`);
    if (specs.length === 0) return [];
    switch (this.packageManager) {
      case "pnpm":
        return [["npx", "--yes", `pnpm@${this.packageManagerVersion ?? "9"}`, "add", "--prod", ...specs]];
      case "yarn":
        return [["npx", "--yes", `yarn@${this.packageManagerVersion ?? "1"}`, "add", "--production", "--no-lockfile", ...specs]];
      case "npm":
        return [["npm", "install", "--omit=dev", "--no-audit", "--no-fund", "--no-package-lock", ...specs]];
    }
  }

  toJSON(): NodeEnvironmentData {
    return {
      nodeVersion: this.nodeVersion,
      packageManager: this.packageManager,
      ...(this.packageManagerVersion ? { packageManagerVersion: this.packageManagerVersion } : {}),
      ...(this.lockfile ? { lockfile: this.lockfile } : {}),
      dependencies: { ...this.dependencies },
      variant: this.variant,
    };
  }
}

function findLockfile(projectRoot: string): { path: string; manager: PackageManagerName } | undefined {
  let dir = projectRoot;
  for (;;) {
    for (const [file, manager] of Object.entries(LOCKFILES)) {
      if (existsSync(join(dir, file))) return { path: join(dir, file), manager };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** One installed package to ship, and where it goes under the image's node_modules. */
export interface InstalledPackage {
  name: string;
  version: string;
  /** Real folder on the build machine. */
  dir: string;
  /** Destination relative to the folder that holds node_modules, e.g. `node_modules/a/node_modules/b`. */
  target: string;
}

/**
 * The external packages and their production dependencies, as installed on this machine (by the
 * project's lockfile), resolved the way Node resolves them. They are laid out npm-style: hoisted
 * to `node_modules/<name>` unless another version sits there, else nested under their dependent.
 * Works for npm, yarn and pnpm installs alike (pnpm's symlinked store is followed, not mirrored).
 */
export function installedClosure(projectRoot: string, externals: ExternalDependency[]): InstalledPackage[] {
  const byTarget = new Map<string, InstalledPackage>();
  const visited = new Set<string>();
  const find = packageFinder(); // the walk asks for the same packages more than once
  const sorted = [...externals].sort((a, b) => a.name.localeCompare(b.name));
  // The flow imports its externals from node_modules/<name>: those slots are theirs from the start,
  // so another version needed deeper down nests under its dependent instead of taking (or losing) one.
  const reserved = new Map(sorted.map((e) => [`node_modules/${e.name}`, find(e.name, projectRoot)?.dir]));
  const visit = (name: string, fromDir: string, parentTarget: string | undefined, requiredBy: string): void => {
    const pkg = find(name, fromDir);
    if (!pkg) {
      throw new ConfigError(`package "${name}" (needed by ${requiredBy}) is not installed`, {
        hint: "run your package manager's install in the project first",
      });
    }
    const hoisted = `node_modules/${name}`;
    const atHoisted = byTarget.get(hoisted)?.dir ?? reserved.get(hoisted);
    const target = !atHoisted || atHoisted === pkg.dir || !parentTarget ? hoisted : `${parentTarget}/node_modules/${name}`;
    if (visited.has(`${pkg.dir}\0${target}`)) return;
    visited.add(`${pkg.dir}\0${target}`);
    byTarget.set(target, { name: pkg.name, version: pkg.version, dir: pkg.dir, target });
    const optional = (pkg.json.optionalDependencies ?? {}) as Record<string, string>;
    const deps = { ...(pkg.json.dependencies as Record<string, string> | undefined), ...optional };
    for (const dep of Object.keys(deps).sort()) {
      if (dep in optional && !find(dep, pkg.dir)) continue;
      visit(dep, pkg.dir, target, `${pkg.name}@${pkg.version}`);
    }
  };
  for (const external of sorted) {
    visit(external.name, projectRoot, undefined, "the flow");
  }
  return [...byTarget.values()].sort((a, b) => a.target.localeCompare(b.target));
}
