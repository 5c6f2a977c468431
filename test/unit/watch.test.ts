import { mkdtempSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nextChange } from "../../src/cli/watch.js";

function folder(): { dir: string; a: string; b: string; other: string } {
  const dir = mkdtempSync(join(tmpdir(), "flowpack-watch-"));
  const [a, b, other] = ["a.ts", "b.ts", "other.ts"].map((name) => join(dir, name));
  for (const file of [a!, b!, other!]) writeFileSync(file, "x");
  // mtimes in the past, so that `since` below does not count them
  for (const file of [a!, b!, other!]) utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  return { dir, a: a!, b: b!, other: other! };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("nextChange", () => {
  it("reports a watched file written in place, and ignores its neighbours", async () => {
    const { a, b, other } = folder();
    const signal = new AbortController().signal;
    const change = nextChange([a, b], { since: Date.now(), signal, quietMs: 100 });
    await settle();
    writeFileSync(other, "unrelated");
    writeFileSync(a, "1");
    writeFileSync(a, "2");
    await expect(change).resolves.toEqual([a]);
  });

  it("reports an editor's atomic save (write a temporary file, rename it over)", async () => {
    const { dir, b } = folder();
    const change = nextChange([b], { since: Date.now(), signal: new AbortController().signal });
    await settle();
    writeFileSync(join(dir, ".b.ts.swp"), "new");
    renameSync(join(dir, ".b.ts.swp"), b);
    await expect(change).resolves.toEqual([b]);
  });

  it("counts a change made after `since` but before watching began (during the previous build)", async () => {
    const { a } = folder();
    const since = Date.now() - 5_000;
    writeFileSync(a, "edited while building");
    await expect(nextChange([a], { since, signal: new AbortController().signal })).resolves.toEqual([a]);
  });

  it("resolves with nothing when stopped (Ctrl-C)", async () => {
    const { a } = folder();
    const controller = new AbortController();
    const change = nextChange([a], { since: Date.now(), signal: controller.signal });
    await settle();
    controller.abort();
    await expect(change).resolves.toEqual([]);
  });
});
