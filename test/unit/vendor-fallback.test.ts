import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { bundleFlow } from "../../src/bundle/bundle.js";
import { importBundle } from "../../src/bundle/temporary.js";
import type * as Vendor from "../../src/bundle/vendor.js";
import type { AnyFlow } from "../../src/flow/flow.js";
import { example } from "../helpers/paths.js";

// Fault injection: a vendor build that esbuild rejects, whatever the packages are.
vi.mock("../../src/bundle/vendor.js", async (original) => ({
  ...(await original<typeof Vendor>()),
  vendorEntrySource: () => "export const packages = {;\n",
}));

describe("when vendoring fails", () => {
  it("the flow is bundled as one self-contained file, and a warning says why", async () => {
    const bundle = await bundleFlow(example("report", "src", "flow.ts"), { vendor: { cacheDir: mkdtempSync(join(tmpdir(), "flowpack-vendor-cache-")) } });
    expect(bundle.vendor).toBeUndefined();
    expect(bundle.warnings[0]).toMatch(/^bundled as one file: vendoring the packages failed \(cannot bundle .*flow\.ts: flowpack-vendor\.mjs:1:\d+: /);
    expect(bundle.code.toString("utf8")).toContain("differenceInMinutes"); // date-fns is in the bundle itself
    const namespace = await importBundle(bundle);
    await expect((namespace.dailyReport as AnyFlow).run({ day: "2024-03-01", limit: 2 })).resolves.toMatchObject({ orders: 2, total: "37.50 EUR" });
  });

  it("an error in the flow's own code is reported as that error, not as a vendoring failure", async () => {
    const root = mkdtempSync(join(tmpdir(), "flowpack-vendor-broken-"));
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "broken", version: "1.0.0", type: "module" }));
    writeFileSync(join(root, "flow.js"), "export const = 1;\n");
    await expect(bundleFlow(join(root, "flow.js"), { vendor: { cacheDir: mkdtempSync(join(tmpdir(), "flowpack-vendor-cache-")) } })).rejects.toThrow(
      /^cannot bundle .*flow\.js: flow\.js:1:13: Expected identifier/,
    );
  });
});
