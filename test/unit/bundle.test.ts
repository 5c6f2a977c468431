import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleFlow } from "../../src/bundle/bundle.js";
import { BundleError, UsageError } from "../../src/errors.js";
import { example, fixture, repoRoot } from "../helpers/paths.js";

describe("bundleFlow", () => {
  it("bundles local imports and pure-JS npm dependencies into one ES module with a source map", async () => {
    const bundle = await bundleFlow(example("report", "src", "flow.ts"));
    const code = bundle.code.toString("utf8");
    expect(bundle.entry).toBe("src/flow.ts");
    expect(bundle.projectRoot).toBe(example("report").replace(/\/$/, ""));
    expect(code).toContain("function summarize(");
    expect(code).toContain("function loadOrders(");
    expect(code).toContain("differenceInMinutes");
    expect(code).not.toMatch(/from\s+["'](date-fns|ms|zod)["']/);
    expect(code).toMatch(/\/\/# sourceMappingURL=flow\.mjs\.map\s*$/);
    const map = JSON.parse(bundle.map.toString("utf8")) as { sources: string[] };
    expect(map.sources).toContain("src/summary.ts");
    expect(bundle.externals).toEqual([]);
    expect(bundle.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it("is deterministic: the same entry gives the same bytes, also bundled from another working directory", async () => {
    const entry = example("report", "src", "flow.ts");
    const first = await bundleFlow(entry);
    const second = await bundleFlow(entry);
    expect(second.digest).toBe(first.digest);
    const elsewhere = mkdtempSync(join(tmpdir(), "flowpack-cwd-"));
    const script = `import { bundleFlow } from ${JSON.stringify(join(repoRoot, "src/bundle/bundle.ts"))};
      process.stdout.write((await bundleFlow(${JSON.stringify(entry)})).digest);`;
    const digest = execFileSync(join(repoRoot, "node_modules/.bin/tsx"), ["--input-type=module", "-e", script], {
      cwd: elsewhere,
      encoding: "utf8",
    });
    expect(digest).toBe(first.digest);
  });

  it("bundles CommonJS dependencies with their relative requires; built-ins come from a require the bundle declares", async () => {
    const bundle = await bundleFlow(fixture("cjs-project", "src", "flow.ts"));
    expect(bundle.externals).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "flowpack-cjs-"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "flow.mjs"), bundle.code); // far from the project: nothing may resolve at run time
    writeFileSync(join(dir, "flow.mjs.map"), bundle.map);
    const { cjs } = (await import(join(dir, "flow.mjs"))) as { cjs: { run(p: unknown): Promise<unknown> } };
    await expect(cjs.run({})).resolves.toEqual({ name: "x", joined: "a/b", populated: true, pathType: "function" });
  });

  it("leaves packages with native addons external and records their versions", async () => {
    const bundle = await bundleFlow(fixture("native-project", "src", "flow.ts"));
    expect(bundle.externals).toEqual([{ name: "fake-native", version: "1.2.3", reason: "native" }]);
    expect(bundle.code.toString("utf8")).toMatch(/from "fake-native"/);
  });

  it("leaves packages the user lists external", async () => {
    const bundle = await bundleFlow(example("report", "src", "flow.ts"), { external: ["ms"] });
    expect(bundle.externals).toEqual([expect.objectContaining({ name: "ms", reason: "user" })]);
    expect(bundle.externals[0]!.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("fails with a BundleError naming the file and the import that cannot be resolved", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowpack-bad-"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "flow.ts"), 'import { x } from "./missing.js";\nexport const y = x;\n');
    const error = await bundleFlow(join(dir, "flow.ts")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toMatch(/flow\.ts:1:\d+: Could not resolve "\.\/missing\.js"/);
  });

  it("a missing entry is a usage error", async () => {
    await expect(bundleFlow(fixture("flows", "nope.ts"))).rejects.toBeInstanceOf(UsageError);
  });
});
