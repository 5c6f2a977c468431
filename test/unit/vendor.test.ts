import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleFlow, type Bundle } from "../../src/bundle/bundle.js";
import { importBundle } from "../../src/bundle/temporary.js";
import { VENDOR_FILE } from "../../src/bundle/vendor.js";
import type { AnyFlow } from "../../src/flow/flow.js";
import { repoRoot } from "../helpers/paths.js";

/**
 * A project with installed packages of every module shape the interop must get right, a linked
 * workspace package, and zod linked from flowpack's own node_modules (so the flow runtime shares it).
 */
function makeProject(): { root: string; entry: string; write(path: string, text: string): void } {
  const root = mkdtempSync(join(tmpdir(), "flowpack-vendor-"));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const pkg = (name: string, json: Record<string, unknown>, files: Record<string, string>) => {
    write(`node_modules/${name}/package.json`, JSON.stringify({ name, version: "1.0.0", ...json }));
    for (const [file, text] of Object.entries(files)) write(`node_modules/${name}/${file}`, text);
  };
  write("package.json", JSON.stringify({ name: "vendor-probe", version: "1.0.0", type: "module" }));
  pkg("cjs-default", { main: "index.js" }, { "index.js": 'module.exports = function greet(n) { return "hi " + n; };\nmodule.exports.extra = 1;\n' });
  pkg("esm-pkg", { type: "module", exports: "./index.js" }, { "index.js": 'export const value = 42;\nexport default function dflt() { return "esm-default"; }\n' });
  pkg("babel-cjs", { main: "index.js" }, { "index.js": 'Object.defineProperty(exports, "__esModule", { value: true });\nexports.default = "babel-default";\nexports.named = "babel-named";\n' });
  pkg("order-cjs", { main: "index.js" }, { "index.js": "module.exports = { seen: globalThis.__flowpackOrder ?? null };\n" });
  pkg("order-esm", { type: "module", exports: "./index.js" }, { "index.js": "export const seen = globalThis.__flowpackOrder ?? null;\n" });
  // Extensions that fix the module type whatever the package.json says (as luxon's build/es6/luxon.mjs does).
  pkg("mjs-entry", { exports: { import: "./build/es6/index.mjs", require: "./build/cjs/index.js" } }, { "build/es6/index.mjs": "export const DateTime = { now: () => \"mjs\" };\nexport default \"mjs-default\";\n", "build/cjs/index.js": "exports.DateTime = { now: () => \"cjs\" };\n" });
  pkg("cjs-entry", { main: "index.cjs" }, { "index.cjs": "module.exports = { kind: \"cjs-ext\" };\n" });
  // Text beyond ASCII in comments (kept by esbuild as written) and in strings (escaped by esbuild).
  pkg("intl-text", { main: "index.js" }, { "index.js": 'module.exports = {\n  // Grüße — “quoted” 😀\n  text: "Grüße — 😀",\n};\n' });
  write("packages/lib/package.json", JSON.stringify({ name: "@ws/lib", version: "0.0.0", type: "module", exports: "./index.js" }));
  write("packages/lib/index.js", 'export const lib = "workspace";\n');
  mkdirSync(join(root, "node_modules", "@ws"), { recursive: true });
  symlinkSync(join(root, "packages", "lib"), join(root, "node_modules", "@ws", "lib"));
  symlinkSync(join(repoRoot, "node_modules", "zod"), join(root, "node_modules", "zod"));
  write("src/setup.js", 'globalThis.__flowpackOrder = "set";\n');
  write(
    "src/flow.js",
    `import "./setup.js";
import greet, { extra } from "cjs-default";
import dflt, { value } from "esm-pkg";
import * as esmNs from "esm-pkg";
import babel, { named } from "babel-cjs";
import { seen as seenCjs } from "order-cjs";
import { seen as seenEsm } from "order-esm";
import { lib } from "@ws/lib";
import mjsDefault, { DateTime } from "mjs-entry";
import cjsExt from "cjs-entry";
import intl from "intl-text";
import { z } from "zod";
import { flow } from "flowpack";
export const VARIANT = "one";
export const probe = flow({ name: "probe", parameters: z.object({ n: z.number().default(1) }) }, async ({ n }) => ({
  variant: VARIANT, n, greet: greet("x"), extra, dflt: dflt(), value, ns: Object.keys(esmNs).sort(), babel, named, seenCjs, seenEsm, lib,
  mjs: [DateTime.now(), mjsDefault], cjsExt: cjsExt.kind, intl: intl.text,
}));
`,
  );
  return { root, entry: join(root, "src", "flow.js"), write };
}

async function runProbe(bundle: Bundle): Promise<unknown> {
  const namespace = await importBundle(bundle);
  return (namespace.probe as AnyFlow).run({});
}

const cacheDir = () => mkdtempSync(join(tmpdir(), "flowpack-vendor-cache-"));

describe("vendored bundles", () => {
  it("behave exactly like a single-file bundle: defaults, named imports, namespaces, CommonJS interop, evaluation order", async () => {
    const { entry } = makeProject();
    const single = await bundleFlow(entry);
    const split = await bundleFlow(entry, { vendor: { cacheDir: cacheDir() } });
    expect(single.vendor).toBeUndefined();
    expect(split.vendor).toBeDefined();
    const expected = {
      variant: "one",
      n: 1,
      greet: "hi x",
      extra: 1,
      dflt: "esm-default",
      value: 42,
      ns: ["default", "value"],
      babel: { default: "babel-default", named: "babel-named" }, // node semantics: the default import of CommonJS is module.exports
      named: "babel-named",
      seenCjs: "set", // packages initialise where the flow imports them, after ./setup.js ran
      seenEsm: "set",
      lib: "workspace",
      mjs: ["mjs", "mjs-default"], // an .mjs entry: an ES module, whatever its package.json says
      cjsExt: "cjs-ext",
      intl: "Grüße — 😀",
    };
    expect(await runProbe(single)).toEqual(expected);
    delete (globalThis as { __flowpackOrder?: unknown }).__flowpackOrder;
    expect(await runProbe(split)).toEqual(expected);
  });

  it("puts installed packages in the vendor module and keeps the flow's code, linked workspace packages and the runtime in the bundle", async () => {
    const { entry } = makeProject();
    const split = await bundleFlow(entry, { vendor: { cacheDir: cacheDir() } });
    const code = split.code.toString("utf8");
    const vendor = split.vendor!.code.toString("utf8");
    expect(code).toContain(`from "./${VENDOR_FILE}"`);
    expect(code).toContain('"workspace"'); // @ws/lib lives outside node_modules: source, bundled with the flow
    expect(code).toContain('VARIANT = "one"');
    expect(code).not.toContain("esm-default");
    for (const text of ["esm-default", "babel-default", '"hi "', "ZodObject"]) expect(vendor).toContain(text);
    expect(vendor).not.toContain("workspace");
    expect(vendor).toMatch(new RegExp(`//# sourceMappingURL=${VENDOR_FILE}\\.map\\s*$`));
    // All ASCII (Node decodes it faster): the comment esbuild kept is escaped, the same text.
    expect(split.vendor!.code.every((byte) => byte < 0x80)).toBe(true);
    expect(vendor).toContain("// Gr\\u00fc\\u00dfe \\u2014 \\u201cquoted\\u201d \\ud83d\\ude00");
    expect(code.length).toBeLessThan(vendor.length / 10); // zod is shared with the runtime and vendored, not bundled twice
  });

  it("reuses the cached vendor module across code changes, and the result equals a build from scratch", async () => {
    const project = makeProject();
    const cache = cacheDir();
    const first = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(first.vendor!.cached).toBe(false);
    project.write("src/flow.js", readFlow(project.root).replace('VARIANT = "one"', 'VARIANT = "two"'));
    const second = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(second.vendor!.cached).toBe(true);
    expect(second.vendor!.digest).toBe(first.vendor!.digest);
    expect(second.digest).not.toBe(first.digest);
    const fresh = await bundleFlow(project.entry, { vendor: { cacheDir: cacheDir() } });
    expect(fresh.digest).toBe(second.digest);
    expect(fresh.vendor!.digest).toBe(second.vendor!.digest);
    expect(await runProbe(second)).toMatchObject({ variant: "two" });
  });

  it("follows the imports: a package added or dropped changes the vendor module, never leaving it stale or bloated", async () => {
    const project = makeProject();
    const cache = cacheDir();
    const first = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    // Drop an import: the vendor module must lose the package (same bytes as a fresh build).
    project.write("src/flow.js", readFlow(project.root).replace('import babel, { named } from "babel-cjs";\n', 'const babel = null, named = null;\n'));
    const dropped = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(dropped.vendor!.code.toString("utf8")).not.toContain("babel-default");
    expect(dropped.vendor!.digest).toBe((await bundleFlow(project.entry, { vendor: { cacheDir: cacheDir() } })).vendor!.digest);
    // Add it back: the first vendor module again, from the cache.
    project.write("src/flow.js", readFlow(project.root).replace("const babel = null, named = null;\n", 'import babel, { named } from "babel-cjs";\n'));
    const restored = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(restored.vendor!.digest).toBe(first.vendor!.digest);
    expect(restored.vendor!.cached).toBe(true);
  });

  it("rebuilds the vendor module when a package's files change (an upgrade, a patch), even with the same version", async () => {
    const project = makeProject();
    const cache = cacheDir();
    const first = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    project.write("node_modules/esm-pkg/index.js", 'export const value = 43;\nexport default function dflt() { return "esm-default"; }\n');
    const patched = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(patched.vendor!.cached).toBe(false);
    expect(patched.vendor!.digest).not.toBe(first.vendor!.digest);
    expect(await runProbe(patched)).toMatchObject({ value: 43 });
    // Same bytes, new mtime: rebuilt (stat is what is checked), and the same module comes out.
    utimesSync(join(project.root, "node_modules/esm-pkg/index.js"), new Date(), new Date(Date.now() + 5_000));
    const touched = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(touched.vendor!.cached).toBe(false);
    expect(touched.vendor!.digest).toBe(patched.vendor!.digest);
  });

  it("never trusts a damaged cache: a tampered module or a garbled record is rebuilt", async () => {
    const project = makeProject();
    const cache = cacheDir();
    const first = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    const modules = join(cache, "vendor", "modules");
    const [entry] = readdirSync(modules);
    writeFileSync(join(modules, entry!, VENDOR_FILE), "export const packages = {};\n");
    const again = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(again.vendor!.cached).toBe(false);
    expect(again.vendor!.digest).toBe(first.vendor!.digest);
    writeFileSync(join(modules, entry!, "record.json"), "{ not json");
    const third = await bundleFlow(project.entry, { vendor: { cacheDir: cache } });
    expect(third.vendor!.digest).toBe(first.vendor!.digest);
    rmSync(join(cache, "vendor"), { recursive: true });
    expect((await bundleFlow(project.entry, { vendor: { cacheDir: cache } })).vendor!.digest).toBe(first.vendor!.digest);
  });

  it("has no vendor module when the flow imports no installed package", async () => {
    const root = mkdtempSync(join(tmpdir(), "flowpack-vendor-none-"));
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "none", version: "1.0.0", type: "module" }));
    writeFileSync(join(root, "flow.js"), 'import { flow } from "flowpack";\nexport const f = flow({ name: "plain" }, async () => 1);\n');
    const bundle = await bundleFlow(join(root, "flow.js"), { vendor: { cacheDir: cacheDir() } });
    expect(bundle.vendor).toBeUndefined();
    expect(bundle.code.toString("utf8")).not.toContain(VENDOR_FILE);
    const namespace = await importBundle(bundle);
    await expect((namespace.f as AnyFlow).run({})).resolves.toBe(1);
  });
});

function readFlow(root: string): string {
  return readFileSync(join(root, "src", "flow.js"), "utf8");
}
