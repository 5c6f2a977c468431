import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ExternalDependency } from "../../src/bundle/bundle.js";
import { installedClosure, NodeEnvironment, type InstalledPackage } from "../../src/environment/node.js";
import { ConfigError } from "../../src/errors.js";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder (real path, so it compares equal to what realpath-based code returns). */
function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "flowpack-env-")));
  made.push(dir);
  return dir;
}

function write(path: string, content: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

function writeJson(path: string, value: unknown): string {
  return write(path, JSON.stringify(value, null, 2));
}

/** `<dir>/package.json` for an installed package. */
function installed(dir: string, name: string, version: string, extra: Record<string, unknown> = {}): string {
  writeJson(join(dir, "package.json"), { name, version, ...extra });
  return dir;
}

const external = (name: string, version: string): ExternalDependency => ({ name, version, reason: "user" });

const base = { nodeVersion: "20.11.1", packageManager: "npm", dependencies: {} } as const;

describe("NodeEnvironment validation", () => {
  it("rejects a node version that is not x.y.z, naming the field", () => {
    expect(() => new NodeEnvironment({ ...base, nodeVersion: "v20.11.1" })).toThrow(ConfigError);
    expect(() => new NodeEnvironment({ ...base, nodeVersion: "20" })).toThrow(
      "invalid Node environment: nodeVersion: expected a Node.js version like 20.11.1",
    );
  });

  it("rejects an unknown package manager, listing the known ones", () => {
    expect(() => new NodeEnvironment({ ...base, packageManager: "bun" as never })).toThrow(
      'invalid Node environment: packageManager: Invalid option: expected one of "npm"|"pnpm"|"yarn"',
    );
  });

  it("rejects unknown fields and reports every issue in one message", () => {
    let error: unknown;
    try {
      new NodeEnvironment({ ...base, nodeVersion: "x", extra: 1 } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^invalid Node environment: /);
    expect(message).toContain("nodeVersion: expected a Node.js version like 20.11.1");
    expect(message).toContain('Unrecognized key: "extra"');
    expect((error as ConfigError).code).toBe("CONFIG_INVALID");
    expect((error as ConfigError).exitCode).toBe(2);
  });

  it("sorts dependencies by name and freezes them", () => {
    const env = new NodeEnvironment({ ...base, dependencies: { zod: "4.0.0", "@scope/a": "1.0.0", bcrypt: "5.1.1" } });
    expect(Object.keys(env.dependencies)).toEqual(["@scope/a", "bcrypt", "zod"]);
    expect(Object.isFrozen(env.dependencies)).toBe(true);
  });
});

describe("NodeEnvironment.defaultBaseImage", () => {
  it("is node:<major>-bookworm-slim by default", () => {
    const env = new NodeEnvironment({ ...base, nodeVersion: "20.11.1" });
    expect(env.nodeMajor).toBe(20);
    expect(env.variant).toBe("bookworm-slim");
    expect(env.defaultBaseImage()).toBe("node:20-bookworm-slim");
  });

  it("uses the variant", () => {
    expect(new NodeEnvironment({ ...base, nodeVersion: "22.3.0", variant: "alpine" }).defaultBaseImage()).toBe("node:22-alpine");
    expect(new NodeEnvironment({ ...base, nodeVersion: "18.20.4", variant: "bookworm" }).defaultBaseImage()).toBe("node:18-bookworm");
  });
});

describe("NodeEnvironment.installCommands", () => {
  const deps = { sharp: "0.33.5", "@napi-rs/canvas": "0.1.60" };

  it("npm: npm install of the exact versions, production only, no lockfile written", () => {
    const env = new NodeEnvironment({ ...base, packageManager: "npm", dependencies: deps });
    expect(env.installCommands()).toEqual([
      ["npm", "install", "--omit=dev", "--no-audit", "--no-fund", "--no-package-lock", "@napi-rs/canvas@0.1.60", "sharp@0.33.5"],
    ]);
  });

  it("pnpm: npx pnpm of the declared version (default 9)", () => {
    const declared = new NodeEnvironment({ ...base, packageManager: "pnpm", packageManagerVersion: "9.12.3", dependencies: deps });
    expect(declared.installCommands()).toEqual([
      ["npx", "--yes", "pnpm@9.12.3", "add", "--prod", "@napi-rs/canvas@0.1.60", "sharp@0.33.5"],
    ]);
    const undeclared = new NodeEnvironment({ ...base, packageManager: "pnpm", dependencies: { sharp: "0.33.5" } });
    expect(undeclared.installCommands()).toEqual([["npx", "--yes", "pnpm@9", "add", "--prod", "sharp@0.33.5"]]);
  });

  it("yarn: npx yarn of the declared version (default 1)", () => {
    const undeclared = new NodeEnvironment({ ...base, packageManager: "yarn", dependencies: { sharp: "0.33.5" } });
    expect(undeclared.installCommands()).toEqual([
      ["npx", "--yes", "yarn@1", "add", "--production", "--no-lockfile", "sharp@0.33.5"],
    ]);
    const declared = new NodeEnvironment({ ...base, packageManager: "yarn", packageManagerVersion: "1.22.22", dependencies: { sharp: "0.33.5" } });
    expect(declared.installCommands()[0]?.slice(0, 3)).toEqual(["npx", "--yes", "yarn@1.22.22"]);
  });

  it("no dependencies: no commands, whatever the manager", () => {
    for (const packageManager of ["npm", "pnpm", "yarn"] as const) {
      expect(new NodeEnvironment({ ...base, packageManager }).installCommands()).toEqual([]);
    }
  });
});

describe("NodeEnvironment.toJSON", () => {
  it("round-trips through the constructor", () => {
    const env = new NodeEnvironment({
      nodeVersion: "22.3.0",
      packageManager: "pnpm",
      packageManagerVersion: "9.1.0",
      lockfile: "../pnpm-lock.yaml",
      dependencies: { sharp: "0.33.5", bcrypt: "5.1.1" },
      variant: "alpine",
    });
    const json = env.toJSON();
    expect(json).toEqual({
      nodeVersion: "22.3.0",
      packageManager: "pnpm",
      packageManagerVersion: "9.1.0",
      lockfile: "../pnpm-lock.yaml",
      dependencies: { bcrypt: "5.1.1", sharp: "0.33.5" },
      variant: "alpine",
    });
    const again = new NodeEnvironment(JSON.parse(JSON.stringify(json)) as typeof json);
    expect(again.toJSON()).toEqual(json);
    expect(again.defaultBaseImage()).toBe("node:22-alpine");
  });

  it("leaves out absent optional fields and fills in the default variant", () => {
    const json = new NodeEnvironment({ ...base }).toJSON();
    expect(json).toEqual({ nodeVersion: "20.11.1", packageManager: "npm", dependencies: {}, variant: "bookworm-slim" });
    expect("packageManagerVersion" in json).toBe(false);
    expect("lockfile" in json).toBe(false);
  });
});

describe("NodeEnvironment.fromFile", () => {
  it("takes the manager and version from the packageManager field (corepack hash dropped), over a lockfile", () => {
    const root = tempDir();
    const pkg = writeJson(join(root, "package.json"), { name: "p", packageManager: "pnpm@9.12.0+sha512.abcdef" });
    write(join(root, "package-lock.json"), "{}");
    const env = NodeEnvironment.fromFile(pkg, [], "20.11.1");
    expect(env.packageManager).toBe("pnpm");
    expect(env.packageManagerVersion).toBe("9.12.0");
    expect(env.lockfile).toBe("package-lock.json");
    expect(env.nodeVersion).toBe("20.11.1");
  });

  it("reads yarn from the packageManager field", () => {
    const root = tempDir();
    const pkg = writeJson(join(root, "package.json"), { packageManager: "yarn@4.5.1" });
    const env = NodeEnvironment.fromFile(pkg, [], "20.11.1");
    expect(env.packageManager).toBe("yarn");
    expect(env.packageManagerVersion).toBe("4.5.1");
  });

  it.each([
    ["package-lock.json", "npm"],
    ["npm-shrinkwrap.json", "npm"],
    ["pnpm-lock.yaml", "pnpm"],
    ["yarn.lock", "yarn"],
  ] as const)("detects the manager from %s", (lockfile, manager) => {
    const root = tempDir();
    const pkg = writeJson(join(root, "package.json"), { name: "p" });
    write(join(root, lockfile), "");
    const env = NodeEnvironment.fromFile(pkg, [], "20.11.1");
    expect(env.packageManager).toBe(manager);
    expect(env.packageManagerVersion).toBeUndefined();
    expect(env.lockfile).toBe(lockfile);
  });

  it("ignores a packageManager field it does not know, and falls back to the lockfile", () => {
    const root = tempDir();
    const pkg = writeJson(join(root, "package.json"), { packageManager: "bun@1.1.0" });
    write(join(root, "yarn.lock"), "");
    const env = NodeEnvironment.fromFile(pkg, [], "20.11.1");
    expect(env.packageManager).toBe("yarn");
    expect(env.packageManagerVersion).toBeUndefined();
  });

  it("walks up to the nearest lockfile (a workspace package) and reports it relative to the project", () => {
    const root = tempDir();
    write(join(root, "yarn.lock"), "");
    write(join(root, "packages", "pnpm-lock.yaml"), "");
    const app = writeJson(join(root, "packages", "app", "package.json"), { name: "app" });
    const env = NodeEnvironment.fromFile(app, [], "20.11.1");
    expect(env.packageManager).toBe("pnpm");
    expect(env.lockfile).toBe("../pnpm-lock.yaml");

    const other = writeJson(join(root, "tools", "cli", "package.json"), { name: "cli" });
    const fromRoot = NodeEnvironment.fromFile(other, [], "20.11.1");
    expect(fromRoot.packageManager).toBe("yarn");
    expect(fromRoot.lockfile).toBe("../../yarn.lock");
  });

  it("defaults to npm without a lockfile or field", () => {
    const root = tempDir();
    const pkg = writeJson(join(root, "package.json"), { name: "p" });
    const env = NodeEnvironment.fromFile(pkg, [], "20.11.1");
    expect(env.packageManager).toBe("npm");
    expect(env.lockfile).toBeUndefined();
  });

  it("records the externals as dependencies and defaults the node version to this process's", () => {
    const root = tempDir();
    const pkg = writeJson(join(root, "package.json"), { name: "p" });
    const env = NodeEnvironment.fromFile(pkg, [external("sharp", "0.33.5"), external("bcrypt", "5.1.1")]);
    expect(env.dependencies).toEqual({ bcrypt: "5.1.1", sharp: "0.33.5" });
    expect(env.nodeVersion).toBe(process.versions.node);
  });

  it("a missing or broken package.json is a ConfigError naming the file", () => {
    const root = tempDir();
    const missing = join(root, "package.json");
    expect(() => NodeEnvironment.fromFile(missing)).toThrow(ConfigError);
    expect(() => NodeEnvironment.fromFile(missing)).toThrow(`cannot read ${missing}: ENOENT`);
    write(missing, "{ not json");
    expect(() => NodeEnvironment.fromFile(missing)).toThrow(new RegExp(`^cannot read ${missing.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: .*JSON`));
  });
});

/** Where Node would find `name` required from the package placed at `fromTarget`, among the closure's targets. */
function resolveInLayout(targets: Map<string, InstalledPackage>, fromTarget: string, name: string): InstalledPackage | undefined {
  let dir = fromTarget;
  for (;;) {
    const found = targets.get(`${dir}/node_modules/${name}`);
    if (found) return found;
    const cut = dir.lastIndexOf("/node_modules/");
    if (cut === -1) return targets.get(`node_modules/${name}`);
    dir = dir.slice(0, cut);
  }
}

const summary = (closure: InstalledPackage[]) => closure.map((p) => `${p.target} ${p.name}@${p.version}`);

describe("installedClosure", () => {
  it("hoists a top-level external and its transitive dependencies to node_modules/<name>", () => {
    const root = tempDir();
    const nm = join(root, "node_modules");
    installed(join(nm, "a"), "a", "1.0.0", { dependencies: { b: "^2.0.0" }, devDependencies: { "not-installed": "1" } });
    installed(join(nm, "b"), "b", "2.1.0", { dependencies: { "@scope/c": "^3.0.0" } });
    installed(join(nm, "@scope", "c"), "@scope/c", "3.0.1");
    installed(join(nm, "unrelated"), "unrelated", "9.9.9");
    const closure = installedClosure(root, [external("a", "1.0.0")]);
    expect(summary(closure)).toEqual(["node_modules/@scope/c @scope/c@3.0.1", "node_modules/a a@1.0.0", "node_modules/b b@2.1.0"]);
    expect(closure.find((p) => p.name === "b")?.dir).toBe(join(nm, "b"));
  });

  it("nests a second version of a dependency under its dependent", () => {
    const root = tempDir();
    const nm = join(root, "node_modules");
    installed(join(nm, "a"), "a", "1.0.0", { dependencies: { c: "^1.0.0" } });
    installed(join(nm, "b"), "b", "1.0.0", { dependencies: { c: "^2.0.0" } });
    installed(join(nm, "c"), "c", "1.0.0");
    installed(join(nm, "b", "node_modules", "c"), "c", "2.0.0");
    const closure = installedClosure(root, [external("b", "1.0.0"), external("a", "1.0.0")]);
    expect(summary(closure)).toEqual([
      "node_modules/a a@1.0.0",
      "node_modules/b b@1.0.0",
      "node_modules/b/node_modules/c c@2.0.0",
      "node_modules/c c@1.0.0",
    ]);
    expect(closure.find((p) => p.target === "node_modules/b/node_modules/c")?.dir).toBe(join(nm, "b", "node_modules", "c"));
  });

  it("keeps a top-level external at node_modules/<name> when a dependency of another external needs another version", () => {
    const root = tempDir();
    const nm = join(root, "node_modules");
    installed(join(nm, "a"), "a", "1.0.0", { dependencies: { c: "^2.0.0" } });
    installed(join(nm, "a", "node_modules", "c"), "c", "2.0.0");
    installed(join(nm, "c"), "c", "1.0.0");
    // "a" sorts before "c": its c@2 must not take (or lose) the slot the flow's own c@1 needs.
    const closure = installedClosure(root, [external("a", "1.0.0"), external("c", "1.0.0")]);
    expect(summary(closure)).toEqual([
      "node_modules/a a@1.0.0",
      "node_modules/a/node_modules/c c@2.0.0",
      "node_modules/c c@1.0.0",
    ]);
  });

  it("lays packages out so that each one resolves the version it resolves on this machine", () => {
    const root = tempDir();
    const nm = join(root, "node_modules");
    installed(join(nm, "a"), "a", "1.0.0", { dependencies: { c: "^2.0.0", d: "^1.0.0" } });
    installed(join(nm, "a", "node_modules", "c"), "c", "2.0.0", { dependencies: { d: "^1.0.0" } });
    installed(join(nm, "b"), "b", "1.0.0", { dependencies: { c: "^1.0.0" } });
    installed(join(nm, "c"), "c", "1.0.0", { dependencies: { d: "^1.0.0" } });
    installed(join(nm, "d"), "d", "1.0.0");
    const expected: Record<string, Record<string, string>> = {
      "a@1.0.0": { c: "2.0.0", d: "1.0.0" },
      "b@1.0.0": { c: "1.0.0" },
      "c@2.0.0": { d: "1.0.0" },
      "c@1.0.0": { d: "1.0.0" },
    };
    const closure = installedClosure(root, [external("a", "1.0.0"), external("b", "1.0.0")]);
    const targets = new Map(closure.map((p) => [p.target, p]));
    expect(resolveInLayout(targets, "", "a")?.version).toBe("1.0.0");
    expect(resolveInLayout(targets, "", "b")?.version).toBe("1.0.0");
    let checked = 0;
    for (const pkg of closure) {
      for (const [dep, version] of Object.entries(expected[`${pkg.name}@${pkg.version}`] ?? {})) {
        expect(resolveInLayout(targets, pkg.target, dep)?.version, `${pkg.target} → ${dep}`).toBe(version);
        checked++;
      }
    }
    expect(checked).toBe(5);
  });

  it("skips optional dependencies that are not installed, and ships those that are", () => {
    const root = tempDir();
    const nm = join(root, "node_modules");
    installed(join(nm, "a"), "a", "1.0.0", {
      dependencies: { b: "^1.0.0" },
      optionalDependencies: { "fsevents-like": "^2.0.0", present: "^1.0.0" },
    });
    installed(join(nm, "b"), "b", "1.0.0");
    installed(join(nm, "present"), "present", "1.2.0");
    const closure = installedClosure(root, [external("a", "1.0.0")]);
    expect(closure.map((p) => p.target)).toEqual(["node_modules/a", "node_modules/b", "node_modules/present"]);
  });

  it("a missing required dependency is a ConfigError naming the package and who needs it", () => {
    const root = tempDir();
    installed(join(root, "node_modules", "a"), "a", "1.2.3", { dependencies: { ghost: "^1.0.0" } });
    let error: unknown;
    try {
      installedClosure(root, [external("a", "1.2.3")]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('package "ghost" (needed by a@1.2.3) is not installed');
    expect((error as ConfigError).hint).toBe("run your package manager's install in the project first");
    expect(() => installedClosure(root, [external("nowhere", "1.0.0")])).toThrow('package "nowhere" (needed by the flow) is not installed');
  });

  it("follows pnpm's symlinked store and still lays packages out as node_modules/<name>", () => {
    const root = tempDir();
    const store = join(root, "node_modules", ".pnpm");
    const x = installed(join(store, "x@1.0.0", "node_modules", "x"), "x", "1.0.0", { dependencies: { y: "^2.0.0" } });
    const y = installed(join(store, "y@2.0.0", "node_modules", "y"), "y", "2.0.0", { dependencies: { z: "^3.0.0" } });
    const z = installed(join(store, "z@3.0.0", "node_modules", "z"), "z", "3.0.0");
    // pnpm: the project sees only its direct dependency; each package sees its own dependencies beside it.
    symlinkSync(join(".pnpm", "x@1.0.0", "node_modules", "x"), join(root, "node_modules", "x"), "dir");
    symlinkSync(join("..", "..", "y@2.0.0", "node_modules", "y"), join(store, "x@1.0.0", "node_modules", "y"), "dir");
    symlinkSync(join("..", "..", "z@3.0.0", "node_modules", "z"), join(store, "y@2.0.0", "node_modules", "z"), "dir");
    const closure = installedClosure(root, [external("x", "1.0.0")]);
    expect(closure).toEqual([
      { name: "x", version: "1.0.0", dir: x, target: "node_modules/x" },
      { name: "y", version: "2.0.0", dir: y, target: "node_modules/y" },
      { name: "z", version: "3.0.0", dir: z, target: "node_modules/z" },
    ]);
  });

  it("ships nothing without externals", () => {
    expect(installedClosure(tempDir(), [])).toEqual([]);
  });
});
