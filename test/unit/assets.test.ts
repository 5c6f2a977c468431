import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanModule, withoutComments } from "../../src/bundle/assets.js";
import { bundleFlow } from "../../src/bundle/bundle.js";
import { BundleImporter, importBundle } from "../../src/bundle/temporary.js";
import { isNativePackage, isPlatformPackageName, type PackageInfo } from "../../src/bundle/packages.js";
import { fixture } from "../helpers/paths.js";

const root = "/project";

describe("scanModule", () => {
  it("finds literal import.meta.url and __dirname paths, relative to the module", () => {
    const source = [
      'const sql = await readFile(new URL("./query.sql", import.meta.url), "utf8");',
      "const t = fileURLToPath(new URL('../templates/', import.meta.url));",
      'const g = path.join(__dirname, "templates", "greeting.txt");',
      "const h = resolve(import.meta.dirname, `static`);",
    ].join("\n");
    const scan = scanModule(source, "/project/src/flows/etl.ts", root);
    expect(scan.reached).toEqual(["/project/src/flows/query.sql", "/project/src/templates", "/project/src/flows/templates/greeting.txt", "/project/src/flows/static"]);
    expect(scan.unresolved).toEqual([]);
  });

  it("names each use that is not a literal path, with its line; commented-out code is ignored", () => {
    const source = [
      "// new URL(name, import.meta.url) in a comment",
      "/* join(__dirname, dir) */",
      "const a = new URL(`./data/${name}.json`, import.meta.url);",
      "const b = join(__dirname, dir);",
      'const url = "http://example.com/x"; const c = new URL("./ok.txt", import.meta.url);',
    ].join("\n");
    const scan = scanModule(source, "/project/src/a.ts", root);
    expect(scan.unresolved.map((u) => u.line)).toEqual([3, 4]);
    expect(scan.unresolved[0]!.text).toContain("new URL(`./data/${name}.json`, import.meta.url)");
    expect(scan.reached).toEqual(["/project/src/ok.txt"]);
  });

  it("gives the module its location under assets/ on its first line only (source maps keep their lines)", () => {
    const source = "#!/usr/bin/env node\nconst here = import.meta.url;\nconsole.log(__dirname, __filename);\n";
    const scan = scanModule(source, "/project/src/a b.ts", root);
    const lines = scan.contents!.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe("#!/usr/bin/env node");
    expect(lines[1]).toContain('new URL("./assets/src/a%20b.ts", import.meta.url).href');
    expect(lines[1]).toContain("var __dirname = ");
    expect(lines[1]).toContain("var __filename = ");
    expect(lines[1]).toMatch(/const here = __flowpackModuleUrl;$/);
  });

  it("leaves a module that defines its own __dirname (the ESM idiom) to define it, from its relocated URL", () => {
    const source = "const __dirname = dirname(fileURLToPath(import.meta.url));\nexport const t = join(__dirname, 'x.txt');\n";
    const scan = scanModule(source, "/project/src/a.ts", root);
    expect(scan.contents).not.toContain("var __dirname");
    expect(scan.contents).toContain("const __dirname = dirname(fileURLToPath(__flowpackModuleUrl));");
    expect(scan.reached).toEqual(["/project/src/x.txt"]);
    expect(scan.unresolved).toEqual([]);
  });

  it("blanks comments without moving anything", () => {
    const source = 'a // b\n/* c\nd */ "// e" `/* f */`';
    const blanked = withoutComments(source);
    expect(blanked).toHaveLength(source.length);
    expect(blanked).toBe('a     \n    \n     "// e" `/* f */`');
  });
});

describe("bundleFlow and files beside the code", () => {
  it("lists the files reached and the included ones; the loaded bundle finds them where they are in the project", async () => {
    const bundle = await bundleFlow(fixture("assets-project", "src", "report.ts"), { include: ["data/**"] });
    expect(bundle.assets?.map((a) => a.path)).toEqual(["data/a.json", "extra/note.txt", "src/lib/templates/greeting.txt", "src/query.sql", "templates/footer.html", "templates/page.html"]);
    expect(bundle.warnings.join("\n")).toContain("src/report.ts:12:");
    const module = await importBundleAndRun(bundle);
    expect(module).toMatchObject({ greeting: "Hello, Ann!", note: "shipped by package.json" });
  });

  it("a module reading a file beside it at import time loads at package time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowpack-assets-unit-"));
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "package.json"), '{ "name": "p", "type": "module" }');
    writeFileSync(join(dir, "src", "config.json"), '{ "answer": 42 }');
    writeFileSync(join(dir, "src", "flow.ts"), 'import { readFileSync } from "node:fs";\nexport const config = JSON.parse(readFileSync(new URL("./config.json", import.meta.url), "utf8"));\n');
    const bundle = await bundleFlow(join(dir, "src", "flow.ts"));
    expect(bundle.assets?.map((a) => a.path)).toEqual(["src/config.json"]);
    expect((await importBundle(bundle)).config).toEqual({ answer: 42 });
  });

  it("refuses a package.json flowpack.include that is not a list of globs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowpack-assets-unit-"));
    writeFileSync(join(dir, "package.json"), '{ "name": "p", "type": "module", "flowpack": { "include": "data" } }');
    writeFileSync(join(dir, "flow.mjs"), "export const x = 1;\n");
    await expect(bundleFlow(join(dir, "flow.mjs"))).rejects.toThrow(/"flowpack.include" must be an array of glob strings/);
  });
});

/** Imports the bundle and runs its flow while the import's folder (and its assets link) is there. */
async function importBundleAndRun(bundle: Awaited<ReturnType<typeof bundleFlow>>): Promise<unknown> {
  const importer = new BundleImporter();
  try {
    const namespace = await importer.import(bundle);
    return await (namespace.report as { run(raw: unknown): Promise<unknown> }).run({ name: "Ann" });
  } finally {
    await importer.close();
  }
}

describe("native packages", () => {
  const pkg = (json: Record<string, unknown>): PackageInfo => ({ name: "x", version: "1.0.0", dir: "/nonexistent", json });

  it("knows platform package names", () => {
    for (const name of ["@img/sharp-linux-x64", "@napi-rs/canvas-linux-x64-gnu", "@swc/core-darwin-arm64", "lightningcss-linux-x64-musl", "@parcel/watcher-win32-x64", "@esbuild/linux-arm64", "@img/sharp-wasm32"]) {
      expect(isPlatformPackageName(name), name).toBe(true);
    }
    for (const name of ["zod", "@img/colour", "linux-tools", "darwinian", "@types/node"]) expect(isPlatformPackageName(name), name).toBe(false);
  });

  it("a package whose optional dependencies are per-platform builds is native; one optional dependency is not enough", () => {
    expect(isNativePackage(pkg({ optionalDependencies: { "@img/sharp-linux-x64": "0.34.5", "@img/sharp-darwin-arm64": "0.34.5", "@img/sharp-wasm32": "0.34.5" } }))).toBe(true);
    expect(isNativePackage(pkg({ optionalDependencies: { "fsevents-darwin": "1.0.0" } }))).toBe(false);
    expect(isNativePackage(pkg({ dependencies: { zod: "^4" } }))).toBe(false);
  });
});
