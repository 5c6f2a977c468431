import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../helpers/cli.js";
import { example, fixture } from "../helpers/paths.js";

const work = mkdtempSync(join(tmpdir(), "flowpack-cli-"));
const store = join(work, "store");
const reportManifest = join(work, "report.json");
const helloManifest = join(work, "hello.json");

function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

describe("flowpack CLI with the file packager", () => {
  beforeAll(async () => {
    for (const [entry, out] of [
      [example("report", "src", "flow.ts"), reportManifest],
      [example("hello", "flow.ts"), helloManifest],
    ] as const) {
      const r = await flowpack(["package", entry, "--store", store, "--output", out]);
      expect(r.stderr).toContain(`→ ${out}`);
      expect(r.code).toBe(0);
    }
  });

  it("runs the multi-file example and prints its result as JSON on stdout, logs on stderr", async () => {
    const r = await flowpack(["run", reportManifest, "--param", "day=2024-03-01", "--param", "limit=3", "--param", "verbose=true"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ day: "2024-03-01", orders: 3, total: "75.00 EUR", first: "00:00:00", span: "3 hours" });
    expect(r.stderr).toContain('INFO  daily-report: loaded orders {"count":3}');
  });

  it("runs the hello example with defaults, and with --params from a file", async () => {
    expect(JSON.parse((await flowpack(["run", helloManifest])).stdout)).toEqual({ greeting: "Hello, world!" });
    const params = join(work, "params.json");
    writeFileSync(params, JSON.stringify({ name: "Ada" }));
    expect(JSON.parse((await flowpack(["run", helloManifest, "--params", `@${params}`])).stdout)).toEqual({ greeting: "Hello, Ada!" });
  });

  it("--json run prints a run record", async () => {
    const r = await flowpack(["--json", "run", helloManifest, "-p", "name=Bo"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ flowName: "hello", status: "completed", result: { greeting: "Hello, Bo!" } });
  });

  it("bad parameters: exit 2 and every violation listed, no stack", async () => {
    const r = await flowpack(["run", reportManifest, "--param", "day=yesterday", "--param", "limit=0", "--param", "currency=GBP"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('invalid parameters for flow "daily-report"');
    expect(r.stderr).toContain("day: must match pattern");
    expect(r.stderr).toContain("limit: must be > 0");
    expect(r.stderr).toContain('currency: must be one of "EUR", "USD"');
    expectNoStack(r.stderr);
    const json = await flowpack(["--json", "run", reportManifest, "--param", "limit=x"]);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "PARAMETERS_INVALID", issues: expect.arrayContaining([{ path: "day", message: "required" }]) });
  });

  it("a manifest with an unknown type: exit 2, known types named", async () => {
    const bad = join(work, "unknown.json");
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(helloManifest, "utf8")), type: "orion" }));
    const r = await flowpack(["run", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: unknown manifest type "orion"; known types: "docker", "file"`);
  });

  it("a manifest missing a field: exit 2, the field named", async () => {
    const { key: _key, ...rest } = JSON.parse(readFileSync(helloManifest, "utf8")) as Record<string, unknown>;
    const bad = join(work, "missing.json");
    writeFileSync(bad, JSON.stringify(rest));
    const r = await flowpack(["inspect", bad]);
    expect(r.code).toBe(2);
    // zod's English message, as the classic API gives it (the CLI's run and inspect load only zod/mini).
    expect(r.stderr).toContain("invalid file manifest: key: Invalid input: expected string, received undefined");
  });

  it("a tampered store object: exit 2, says which object", async () => {
    const isolated = join(work, "tamper-store");
    const manifestPath = join(work, "tamper.json");
    expect((await flowpack(["package", example("hello", "flow.ts"), "--store", isolated, "-o", manifestPath])).code).toBe(0);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { key: string };
    const object = join(isolated, "sha256", manifest.key.slice(7));
    writeFileSync(object, readFileSync(object, "utf8").replace("Hello", "Pwned"));
    const r = await flowpack(["run", manifestPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`object ${manifest.key} in the store ${isolated} is corrupted`);
    expectNoStack(r.stderr);
  });

  it("a failing flow: exit 1 with the flow's message", async () => {
    const manifestPath = join(work, "failing.json");
    expect((await flowpack(["package", fixture("flows", "failing.ts"), "--store", store, "-o", manifestPath])).code).toBe(0);
    const r = await flowpack(["run", manifestPath, "-p", "reason=timeout"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('flow "failing" failed: upstream said timeout');
  });

  it("several flows and no --flow: exit 2 listing them; --flow picks one", async () => {
    const r = await flowpack(["package", fixture("flows", "two.ts"), "--store", store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("defines several flows (first, second)");
    expect(r.stderr).toContain("hint: pass --flow NAME");
    const ok = await flowpack(["package", fixture("flows", "two.ts"), "--store", store, "--flow", "second"]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ type: "file", flowName: "second" });
  });

  it("usage errors: exit 2, one line, no stack", async () => {
    for (const args of [["run"], ["package", "x.ts", "--bogus"], ["frobnicate"], ["run", join(work, "nope.json")]]) {
      const r = await flowpack(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^flowpack: error: /);
      expectNoStack(r.stderr);
    }
  });

  it("inspect describes a manifest; schema prints the manifest JSON Schema", async () => {
    const r = await flowpack(["inspect", reportManifest]);
    expect(r.stdout).toContain("flow:        daily-report");
    expect(r.stdout).toContain("day: string (required)");
    expect(r.stdout).toContain("limit: integer = 5");
    const schema = await flowpack(["schema", "manifest"]);
    expect(JSON.parse(schema.stdout)).toMatchObject({ title: "flowpack package manifest" });
  });

  it("bundle writes one ES module and its map, the same bytes every time", async () => {
    const out1 = join(work, "b1", "flow.mjs");
    const out2 = join(work, "b2", "flow.mjs");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(work, "b1"));
    mkdirSync(join(work, "b2"));
    const r1 = await flowpack(["--json", "bundle", example("report", "src", "flow.ts"), "-o", out1]);
    const r2 = await flowpack(["--json", "bundle", "src/flow.ts", "-o", out2], { cwd: example("report") });
    expect(r1.code).toBe(0);
    expect(JSON.parse(r1.stdout).digest).toBe(JSON.parse(r2.stdout).digest);
    expect(readFileSync(out1)).toEqual(readFileSync(out2));
    expect(readFileSync(`${out1}.map`, "utf8")).toContain("src/summary.ts");
  });

  it("a built flowpack bundles a flow's `import \"flowpack\"` from its one-module flow runtime; frames still map to the sources", async () => {
    const out = join(work, "b3", "flow.mjs");
    const r = await flowpack(["bundle", example("hello", "flow.ts"), "-o", out]);
    expect(r.code).toBe(0);
    const code = readFileSync(out, "utf8");
    // esbuild names each module it took in a comment: the prebuilt runtime, not flow/*.js one by one.
    expect(code).toContain("// flowpack:dist/flow-runtime.mjs\n");
    expect(code).not.toContain("// flowpack:dist/flow/");
    const sources = (JSON.parse(readFileSync(`${out}.map`, "utf8")) as { sources: string[] }).sources;
    expect(sources).toEqual(expect.arrayContaining(["src/flow/flow.ts", "src/flow/schema.ts", "examples/hello/flow.ts"]));
    const { hello } = (await import(pathToFileURL(out).href)) as { hello: { name: string; parameterSchema(): unknown; run(params: unknown): Promise<unknown> } };
    expect(hello.name).toBe("hello");
    expect(hello.parameterSchema()).toMatchObject({ type: "object", properties: { name: { type: "string" } } });
    await expect(hello.run({ name: "Ada" })).resolves.toEqual({ greeting: "Hello, Ada!" });
    await expect(hello.run({ name: 3 })).rejects.toMatchObject({ code: "PARAMETERS_INVALID" });
  });
});
