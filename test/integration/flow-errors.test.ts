import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../helpers/cli.js";
import { fixture, repoRoot } from "../helpers/paths.js";

// Runs in this process (a file manifest): the flow's story, bad results, and SIGTERM, through the real CLI.
const work = mkdtempSync(join(tmpdir(), "flowpack-flow-errors-"));
const env = { FLOWPACK_CACHE_DIR: join(work, "cache"), FLOWPACK_FLOW_LOCATION: "", FLOWPACK_FLOW_NAME: "", FLOWPACK_STOP_GRACE: "" };

async function packaged(entry: string, name: string): Promise<string> {
  const manifest = join(work, `${name}.json`);
  const r = await flowpack(["package", entry, "--store", join(work, "store"), "-o", manifest], { env });
  expect(r.stderr).not.toContain("flowpack: error");
  expect(r.code).toBe(0);
  return manifest;
}

/** Starts `flowpack run`, waits for `ready` on stderr, sends `signal`, and returns the exit code and output. */
async function stopDuringRun(args: string[], ready: string, signal: NodeJS.Signals, extraEnv: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), ...args], { env: { ...process.env, ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes(ready) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  expect(stderr).toContain(ready);
  child.kill(signal);
  return { code: await closed, stdout, stderr };
}

describe("a failed flow's story, locally", () => {
  let rows: string;
  beforeAll(async () => {
    rows = await packaged(fixture("flows", "rows.ts"), "rows");
  });

  it("one line names the error's class and its cause; --debug adds the stack in the user's files", async () => {
    const plain = await flowpack(["run", rows], { env });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe("");
    expect(plain.stderr).toMatch(/^flowpack: error: flow "rows" failed: ValidationError: bad row 3 \(caused by: SyntaxError: [^\n]+\)\n$/);

    const debug = await flowpack(["--debug", "run", rows], { env });
    expect(debug.code).toBe(1);
    expect(debug.stderr.match(/flowpack: error:/g)).toHaveLength(1);
    // source-mapped: the frame is the user's lib/rows.ts (line 9: the throw), not the bundle
    expect(debug.stderr).toMatch(/\nValidationError: bad row 3\n\s+at parseRow \([^)]*lib\/rows\.ts:9:\d+\)/);
    expect(debug.stderr).toMatch(/\ncaused by: SyntaxError: [^\n]+\n\s+at JSON\.parse/);
    expect(debug.stderr).not.toContain("cli.mjs");
  });

  it("--json: the record has the run ID, status failed, the error's name, stack and cause", async () => {
    const r = await flowpack(["--json", "run", rows], { env });
    expect(r.code).toBe(1);
    const record = JSON.parse(r.stdout) as { runId: string; status: string; error: { code: string; name: string; stack: string; cause: { name: string }[] } };
    expect(record.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.status).toBe("failed");
    expect(record.error).toMatchObject({ code: "FLOW_FAILED", name: "ValidationError" });
    expect(record.error.stack).toMatch(/lib\/rows\.ts:9:\d+/);
    expect(record.error.cause.map((c) => c.name)).toEqual(["SyntaxError"]);
  });

  it("a BigInt or Map result: exit 1 naming the value's path, nothing on stdout", async () => {
    const big = await flowpack(["run", rows, "-p", "returns=bigint"], { env });
    expect([big.code, big.stdout]).toEqual([1, ""]);
    expect(big.stderr).toContain('flowpack: error: flow "rows" returned a result JSON cannot carry: result.rows[1].id: BigInt cannot be represented in JSON');
    const map = await flowpack(["--json", "run", rows, "-p", "returns=map"], { env });
    expect(map.code).toBe(1);
    expect(JSON.parse(map.stdout)).toMatchObject({ status: "failed", error: { code: "FLOW_RESULT_INVALID", message: expect.stringContaining("result.seen: a Map becomes {} in JSON") } });
  });
});

describe("SIGTERM during a local run", () => {
  let stoppable: string;
  beforeAll(async () => {
    stoppable = await packaged(fixture("flows", "stoppable.ts"), "stoppable");
  });

  it("ctx.signal aborts, the flow cleans up, flowpack exits 143", async () => {
    const r = await stopDuringRun(["run", stoppable], "waiting for a stop", "SIGTERM");
    expect(r.code).toBe(143);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/ctx\.signal aborted, cleaning up.*SIGTERM/);
    expect(r.stderr).toContain('flowpack: error: interrupted by SIGTERM: flow "stoppable" stopped after ctx.signal aborted');
  });

  it("a flow that ignores the signal is left after the grace period (its timers do not hold flowpack); SIGINT is 130", async () => {
    const r = await stopDuringRun(["run", stoppable, "-p", "deaf=true"], "waiting for a stop", "SIGINT", { FLOWPACK_STOP_GRACE: "0.5" });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted by SIGINT: flow "stoppable" did not stop within 500 ms of ctx.signal aborting');
  });
});
