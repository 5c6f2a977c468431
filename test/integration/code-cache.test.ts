import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flowpack, runNode } from "../helpers/cli.js";
import { example, repoRoot } from "../helpers/paths.js";

// The built CLI loads each command from dist/commands/<name>.cjs through V8's code cache, kept in
// flowpack's cache folder (src/cli/code-cache.ts). What it writes, and that a bad or unusable cache
// never changes what a command does.
const work = mkdtempSync(join(tmpdir(), "flowpack-code-cache-"));

const cacheFiles = (cache: string) => {
  try {
    return readdirSync(join(cache, "code")).sort();
  } catch {
    return [];
  }
};

describe("the command bundles' code cache", () => {
  it("the first run writes the command's cache (private to the user), the next runs use it and leave it alone", async () => {
    const cache = join(work, "fresh");
    const first = await flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } });
    expect(first.code, first.stderr).toBe(0);
    const files = cacheFiles(cache);
    expect(files).toEqual([expect.stringMatching(/^schema\.cjs-[0-9a-f]{16}-\d+-\d+-\d+-v\d+\.\d+\.\d+-\w+\.bin$/)]);
    const file = join(cache, "code", files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(cache, "code")).mode & 0o777).toBe(0o700);
    const written = statSync(file).mtimeMs;

    const second = await flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } });
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(file).mtimeMs).toBe(written); // accepted by V8: not written again
    expect(cacheFiles(cache)).toEqual(files);
  });

  it("code run from the cache imports modules (a flow's bundle) as code loaded by Node does", async () => {
    const cache = join(work, "imports");
    const env = { FLOWPACK_CACHE_DIR: cache };
    const manifest = join(work, "hello.json");
    const packaged = await flowpack(["package", example("hello", "flow.ts"), "--store", join(work, "store"), "-o", manifest], { env });
    expect(packaged.code, packaged.stderr).toBe(0);
    for (const round of ["compiled", "from the cache"]) {
      const r = await flowpack(["run", manifest, "-p", "name=Ada"], { env });
      expect(r.code, `${round}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ greeting: "Hello, Ada!" });
      expect(r.stderr).not.toMatch(/warning/i);
    }
    expect(cacheFiles(cache).map((f) => f.split("-")[0])).toEqual(["package.cjs", "run.cjs"]);
    // The first run compiled the parameter validator with Ajv (required from node_modules: the
    // bundle leaves it out) and kept it; the second used it.
    expect(readdirSync(join(cache, "validators"))).toHaveLength(1);
  });

  it("a damaged cache is rejected and written again; the command runs as without it", async () => {
    const cache = join(work, "damaged");
    const reference = await flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } });
    const file = join(cache, "code", cacheFiles(cache)[0]!);
    writeFileSync(file, Buffer.alloc(statSync(file).size, 7));
    const r = await flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(reference.stdout);
    expect(readFileSync(file).every((byte) => byte === 7)).toBe(false);
  });

  it("another install of flowpack keeps its own caches beside this one's (neither removes the other's)", async () => {
    const cache = join(work, "two-installs");
    // a second install: a copy of the built CLI in another folder, with its own package.json
    const other = join(work, "other-install");
    cpSync(join(repoRoot, "dist"), join(other, "dist"), { recursive: true });
    cpSync(join(repoRoot, "package.json"), join(other, "package.json"));
    symlinkSync(join(repoRoot, "node_modules"), join(other, "node_modules"));
    const runs = [() => flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } }), () => runNode(join(other, "dist", "cli.mjs"), ["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } })];
    for (const run of runs) expect((await run()).code).toBe(0);
    const files = cacheFiles(cache);
    expect(files).toHaveLength(2);
    const written = files.map((f) => statSync(join(cache, "code", f)).mtimeMs);
    // each uses its own: neither is removed nor written again
    for (const run of runs) expect((await run()).code).toBe(0);
    expect(cacheFiles(cache)).toEqual(files);
    expect(files.map((f) => statSync(join(cache, "code", f)).mtimeMs)).toEqual(written);
  });

  it("keeps the 40 caches written last, whatever installed them", async () => {
    const cache = join(work, "many");
    mkdirSync(join(cache, "code"), { recursive: true });
    for (let i = 0; i < 45; i++) {
      const file = join(cache, "code", `gone-install-${String(i).padStart(2, "0")}.bin`);
      writeFileSync(file, "");
      utimesSync(file, 1_000_000 + i, 1_000_000 + i); // gone-install-00 the oldest
    }
    expect((await flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: cache } })).code).toBe(0);
    const files = cacheFiles(cache);
    expect(files).toHaveLength(40);
    expect(files.filter((f) => f.startsWith("schema.cjs-"))).toHaveLength(1);
    expect(files).not.toContain("gone-install-05.bin");
    expect(files).toContain("gone-install-06.bin");
  });

  it("an unusable cache folder: the command runs, says nothing about it, and writes nothing", async () => {
    const notAFolder = join(work, "a-file");
    writeFileSync(notAFolder, "not a folder");
    const r = await flowpack(["schema", "manifest"], { env: { FLOWPACK_CACHE_DIR: notAFolder } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ title: "flowpack package manifest" });
    expect(readFileSync(notAFolder, "utf8")).toBe("not a folder");
  });

  it("each command has its own bundle and cache; --version loads none", async () => {
    const cache = join(work, "each");
    expect((await flowpack(["--version"], { env: { FLOWPACK_CACHE_DIR: cache } })).code).toBe(0);
    expect(cacheFiles(cache)).toEqual([]);
    expect((await flowpack(["inspect", "--help"], { env: { FLOWPACK_CACHE_DIR: cache } })).code).toBe(0);
    expect(cacheFiles(cache).map((f) => f.split("-")[0])).toEqual(["inspect.cjs"]);
    expect((await flowpack(["--help"], { env: { FLOWPACK_CACHE_DIR: cache } })).code).toBe(0);
    expect(cacheFiles(cache).map((f) => f.split("-")[0])).toEqual(["bundle.cjs", "export.cjs", "inspect.cjs", "package.cjs", "run.cjs", "schema.cjs", "warm.cjs"]);
  });
});
