import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { importBundle } from "../../src/bundle/temporary.js";

const code = (value: number) => Buffer.from(`export const value = ${value};\nexport const where = import.meta.url;\n`);

describe("importBundle", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("imports from a private folder under the project's node_modules/.cache, removed afterwards", async () => {
    const project = mkdtempSync(join(tmpdir(), "flowpack-tmpbundle-"));
    writeFileSync(join(project, "package.json"), "{}");
    const a = await importBundle({ code: code(1), projectRoot: project, map: Buffer.from("{}") });
    const b = await importBundle({ code: code(1), projectRoot: project });
    expect(a.value).toBe(1);
    const cache = join(project, "node_modules", ".cache", "flowpack");
    expect(String(a.where).startsWith(`${pathToFileURL(cache).href}/bundle-`)).toBe(true);
    expect(b.where).not.toBe(a.where); // a unique folder each time (mkdtemp), never a predictable name
    expect(readdirSync(cache)).toEqual([]);
  });

  it("without a project uses the per-user cache folder, not the working folder or /tmp", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "flowpack-usercache-"));
    const noProject = mkdtempSync(join(tmpdir(), "flowpack-noproject-"));
    vi.stubEnv("FLOWPACK_CACHE_DIR", cacheDir);
    const ns = await importBundle({ code: code(2), projectRoot: noProject });
    expect(ns.value).toBe(2);
    expect(String(ns.where).startsWith(`${pathToFileURL(join(cacheDir, "bundles")).href}/bundle-`)).toBe(true);
    expect(readdirSync(join(cacheDir, "bundles"))).toEqual([]);
    expect(existsSync(join(noProject, "node_modules"))).toBe(false);
  });
});
