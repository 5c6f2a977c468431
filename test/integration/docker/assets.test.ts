import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

// A project whose code reads files beside it: a .sql file and a template folder by
// `new URL(…, import.meta.url)`, a template by `path.join(__dirname, …)` (CommonJS style), a data
// file by a computed URL (shipped with --include) and a note named by package.json's "flowpack.include".
const work = mkdtempSync(join(tmpdir(), "flowpack-assets-"));
const entry = fixture("assets-project", "src", "report.ts");
let env: NodeJS.ProcessEnv;

const expected = {
  sql: "select * from orders where day = $1",
  templates: ["footer.html", "page.html"],
  page: "<h1>report</h1>",
  greeting: "Hello, Ann!",
  data: { rows: 3 },
  note: "shipped by package.json",
};

async function packageFlow(name: string, output: string[], extra: string[] = []): Promise<{ manifest: string; stderr: string }> {
  const manifest = join(work, `${name}.json`);
  const r = await flowpack(["package", entry, "--packager", "docker", "--builder", "oci", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE, ...output, ...extra, "-o", manifest], { env });
  expect(r.stderr).not.toContain("Error:");
  expect(r.code).toBe(0);
  return { manifest, stderr: r.stderr };
}

describe("files beside the code", () => {
  beforeAll(() => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
  });

  it("ships files reached by literal import.meta.url and __dirname paths and --include globs; the flow reads them in a container (no network)", async () => {
    const { manifest, stderr } = await packageFlow("registry", ["--registry", `${services().FLOWPACK_TEST_REGISTRY}/assets`], ["--include", "data/**"]);
    // The computed URL is named, with its file and line; the literal ones are not.
    expect(stderr).toMatch(/warning: src\/report\.ts:12: `new URL\(`\.\.\/data\/\$\{dataset\}\.json`, import\.meta\.url\)` reaches a file by a path that is not a literal/);
    expect(stderr).not.toMatch(/warning: src\/lib\/render\.ts/);
    expect(stderr).not.toMatch(/warning: src\/report\.ts:(8|9|10|13)\b/);
    const r = await flowpack(["run", manifest, "--network", "none", "-p", "name=Ann"], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it("runs the same from an OCI layout (the assets are in the app layer)", async () => {
    const { manifest } = await packageFlow("layout", ["--oci-layout", join(work, "layout")], ["--include", "data/**"]);
    expect(JSON.parse(readFileSync(manifest, "utf8")).image).toMatch(/^oci:/);
    const r = await flowpack(["run", manifest, "-p", "name=Ann"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it("the Docker Engine builder ships them the same (one app layer)", async () => {
    const manifest = join(work, "engine.json");
    const p = await flowpack(["package", entry, "--packager", "docker", "--builder", "docker", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE, "--include", "data/**", "-o", manifest], { env });
    expect(p.code).toBe(0);
    const r = await flowpack(["run", manifest, "--network", "none", "-p", "name=Ann"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it("the file packager stores them with the bundle; a local run from another folder finds them", async () => {
    const manifest = join(work, "file.json");
    const p = await flowpack(["package", entry, "--packager", "file", "--store", join(work, "store"), "--include", "data/**", "-o", manifest], { env });
    expect(p.code).toBe(0);
    expect(p.stderr).toContain("src/report.ts:12:");
    expect(Object.keys((JSON.parse(readFileSync(manifest, "utf8")) as { serializer: { assets: Record<string, string> } }).serializer.assets)).toEqual([
      "data/a.json", "extra/note.txt", "src/lib/templates/greeting.txt", "src/query.sql", "templates/footer.html", "templates/page.html",
    ]);
    const r = await flowpack(["run", manifest, "-p", "name=Ann"], { env, cwd: work });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it("without --include the computed path's file is not shipped: the flow fails naming it", async () => {
    const { manifest } = await packageFlow("no-include", ["--oci-layout", join(work, "layout-no-include")]);
    const r = await flowpack(["run", manifest, "-p", "name=Ann"], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ENOENT");
    expect(r.stderr).toContain("/opt/flowpack/assets/data/a.json");
  });

  it("an --include glob that matches nothing is named", async () => {
    const { stderr } = await packageFlow("no-match", ["--oci-layout", join(work, "layout-no-match")], ["--include", "nothing-here/**", "--include", "data/**"]);
    expect(stderr).toContain("--include nothing-here/**: no file in the project matches it");
  });
});
