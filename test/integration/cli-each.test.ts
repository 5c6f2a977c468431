import { mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../helpers/cli.js";
import { fixture } from "../helpers/paths.js";

const work = mkdtempSync(join(tmpdir(), "flowpack-cli-each-"));
const manifest = join(work, "square.json");
const env = { FLOWPACK_CACHE_DIR: join(work, "cache") };

function lines(stdout: string): Record<string, unknown>[] {
  return stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

function paramsFile(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

describe("flowpack run --each on local (file manifest)", () => {
  beforeAll(async () => {
    const r = await flowpack(["package", fixture("flows", "square.ts"), "--store", join(work, "store"), "-o", manifest], { env });
    expect(r.code).toBe(0);
  });

  it("one JSON line per input line, in input order, with line numbers, node and duration; comments and blank lines skipped", async () => {
    const file = paramsFile("ok.jsonl", '# squares\n{"n":1}\n\n{"n":2}\n{"n":3}\n');
    const r = await flowpack(["run", manifest, "--each", file], { env });
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((l) => [l.index, l.line, l.ok, l.result, l.node])).toEqual([
      [0, 2, true, { n: 1, square: 1 }, hostname()],
      [1, 4, true, { n: 2, square: 4 }, hostname()],
      [2, 5, true, { n: 3, square: 9 }, hostname()],
    ]);
    for (const l of out) expect(typeof l.durationMs).toBe("number");
    expect(r.stderr).toContain("each: 3/3 done, 0 failed, 0 running");
    expect(r.stderr).toContain('INFO  square: squaring {"n":2}');
  });

  it("--timeout: a run here past it fails alone (RUN_TIMEOUT), the next line still runs, and flowpack exits although the stopped flow's timer is still set", async () => {
    // square waits `seconds` on a timer that ignores ctx.signal: an hour, far beyond this test's own bound (the helper kills a CLI that does not exit).
    const file = paramsFile("timeout.jsonl", '{"n":1}\n{"n":2,"seconds":3600}\n{"n":3}\n');
    const r = await flowpack(["run", manifest, "--each", file, "--timeout", "2s"], { env: { ...env, FLOWPACK_STOP_GRACE: "1" }, timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    const out = lines(r.stdout);
    expect(out.map((l) => [l.index, l.ok, (l.error as { code?: string } | undefined)?.code])).toEqual([[0, true, undefined], [1, false, "RUN_TIMEOUT"], [2, true, undefined]]);
    expect(r.stderr).toContain("flowpack: error: 1 of 3 runs did not succeed (line 2)");
  });

  it("a failing set is reported in its place and the others still run: exit 1 with a one-line summary", async () => {
    const file = paramsFile("one-fails.jsonl", '{"n":1}\n{"n":2,"fail":true}\n{"n":3}\n');
    const r = await flowpack(["run", manifest, "--each", file, "--concurrency", "2"], { env });
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out.map((l) => l.ok)).toEqual([true, false, true]);
    expect(out[1]).toMatchObject({ index: 1, line: 2, ok: false, error: { code: "FLOW_FAILED", message: 'flow "square" failed: refusing to square 2' } });
    expect(r.stderr).toContain("flowpack: error: 1 of 3 runs did not succeed (line 2)");
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it("with --json, stdout still holds exactly one JSON line per input line (the summary goes to stderr)", async () => {
    const file = paramsFile("json.jsonl", '{"n":1}\n{"n":2,"fail":true}\n');
    const r = await flowpack(["--json", "run", manifest, "--each", file], { env });
    expect(r.code).toBe(1);
    expect(lines(r.stdout).map((l) => [l.index, l.ok])).toEqual([[0, true], [1, false]]);
    expect(r.stderr).toContain("flowpack: error: 1 of 2 runs did not succeed (line 2)");
  });

  it("bad lines: exit 2 naming every one, before anything ran", async () => {
    const file = paramsFile("bad.jsonl", '{"n":1}\n{"n":"two"}\nnot json\n[1]\n{"n":5}\n');
    const r = await flowpack(["run", manifest, "--each", file], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("line 2: n");
    expect(r.stderr).toContain("line 3: not valid JSON");
    expect(r.stderr).toContain("line 4: expected a JSON object of parameters");
    expect(r.stderr).not.toContain("squaring");
  });

  it("reads the sets from stdin with -", async () => {
    const r = await flowpack(["run", manifest, "--each", "-"], { env, input: '{"n":7}\n{"n":8}\n' });
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => (l.result as { square: number }).square)).toEqual([49, 64]);
  });

  it("refuses --each with --param and --concurrency without --each, in one line (exit 2)", async () => {
    const file = paramsFile("one.jsonl", '{"n":1}\n');
    const both = await flowpack(["run", manifest, "--each", file, "-p", "n=2"], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("flowpack: error: --each takes every run's parameters from its file: drop --param/--params (or put them in each line)\n");
    const alone = await flowpack(["run", manifest, "--concurrency", "2", "-p", "n=2"], { env });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toBe("flowpack: error: --concurrency applies to --each only\n");
  });
});
