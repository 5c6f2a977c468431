import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RepositoryHints } from "../../src/packagers/docker/repository-hint.js";

describe("RepositoryHints: where an entry's last push went", () => {
  it("per registry, namespace and entry; the last one recorded wins", async () => {
    const hints = new RepositoryHints(mkdtempSync(join(tmpdir(), "flowpack-hints-")));
    expect(await hints.get("ghcr.io", "acme", "/p/flow.ts")).toBeUndefined();
    await hints.set("ghcr.io", "acme", "/p/flow.ts", "acme/report");
    await hints.set("ghcr.io", "acme", "/p/other.ts", "acme/other");
    await hints.set("ghcr.io", "acme", "/p/flow.ts", "acme/renamed");
    expect(await hints.get("ghcr.io", "acme", "/p/flow.ts")).toBe("acme/renamed");
    expect(await hints.get("ghcr.io", "acme", "/p/other.ts")).toBe("acme/other");
    expect(await hints.get("ghcr.io", "elsewhere", "/p/flow.ts")).toBeUndefined();
    expect(await hints.get("quay.io", "acme", "/p/flow.ts")).toBeUndefined();
  });

  it("a damaged or foreign file is no hint, and a folder it cannot write to is no error", async () => {
    const cache = mkdtempSync(join(tmpdir(), "flowpack-hints-"));
    const hints = new RepositoryHints(cache);
    await hints.set("ghcr.io", "acme", "/p/flow.ts", "acme/report");
    const [file] = readdirSync(hints.dir);
    for (const text of ["{", "[]", JSON.stringify({ version: 2, repository: "acme/report" }), JSON.stringify({ version: 1, repository: "" })]) {
      writeFileSync(join(hints.dir, file!), text);
      expect(await hints.get("ghcr.io", "acme", "/p/flow.ts")).toBeUndefined();
    }
    writeFileSync(join(cache, "blocked"), "a file where a folder should be");
    await expect(new RepositoryHints(join(cache, "blocked")).set("ghcr.io", "acme", "/p/flow.ts", "acme/report")).resolves.toBeUndefined();
  });
});
