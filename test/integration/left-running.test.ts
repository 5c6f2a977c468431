import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack, runNode } from "../helpers/cli.js";

// A flow that leaves something running — a timer from its module, a listening socket from its run
// (a database pool or client that was never closed, in real projects) — must not keep `flowpack
// run` or the in-image runner (a container, a swarm job) running for ever once its result is out.
const work = mkdtempSync(join(tmpdir(), "flowpack-left-running-"));
const env = { FLOWPACK_CACHE_DIR: join(work, "cache"), FLOWPACK_FLOW_LOCATION: "", FLOWPACK_FLOW_NAME: "", FLOWPACK_PARAMS: "", FLOWPACK_EXIT_GRACE: "" };
const entry = join(work, "lingering.ts");
const bundled = join(work, "bundle", "lingering.mjs");
const manifest = join(work, "lingering.json");

beforeAll(async () => {
  writeFileSync(
    entry,
    `import { createServer } from "node:net";
import { flow } from "flowpack";
setInterval(() => undefined, 60_000);
export const lingering = flow({ name: "lingering" }, async (_params, ctx) => {
  await new Promise((listening) => createServer().listen(0, "127.0.0.1", () => listening(undefined)));
  if (process.env.LINGERING_FAILS) throw new Error("failed, and left things running");
  return "done";
});
`,
  );
  const packaged = await flowpack(["package", entry, "--store", join(work, "store"), "-o", manifest], { env, cwd: work });
  expect(packaged.code, packaged.stderr).toBe(0);
  const bundle = await flowpack(["bundle", entry, "-o", bundled, "--with-runner"], { env, cwd: work });
  expect(bundle.code, bundle.stderr).toBe(0);
});

const warning = /flowpack: warning: something is still running 0\.3 s after the work was done \((?=.*\b1 Timeout\b)(?=.*\b1 TCPServerWrap\b)[^)]*\), likely left open by the flow's code: exiting/;

describe("what a flow leaves running does not keep flowpack running", () => {
  it("flowpack run: the result is printed, then flowpack exits 0 after FLOWPACK_EXIT_GRACE, naming what was left", async () => {
    const r = await flowpack(["run", manifest], { env: { ...env, FLOWPACK_EXIT_GRACE: "0.3" }, cwd: work, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe("done");
    expect(r.stderr).toMatch(warning);
  });

  it("a flow that failed keeps its exit code", async () => {
    const r = await flowpack(["run", manifest], { env: { ...env, FLOWPACK_EXIT_GRACE: "0.3", LINGERING_FAILS: "1" }, cwd: work, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("failed, and left things running");
    expect(r.stderr).toMatch(warning);
  });

  it("the in-image runner exits too, after the default grace when none is set", async () => {
    const r = await runNode(join(work, "bundle", "runner.mjs"), [], { env: { ...env, FLOWPACK_FLOW_NAME: "lingering", FLOWPACK_FLOW_LOCATION: bundled }, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe("done");
    expect(r.stderr).toContain("flowpack: warning: something is still running 2 s after the work was done");
  });

  it("an unusable FLOWPACK_EXIT_GRACE is named, and the default used: the run's result stands", async () => {
    const r = await flowpack(["run", manifest], { env: { ...env, FLOWPACK_EXIT_GRACE: "soon" }, cwd: work, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe("done");
    expect(r.stderr).toContain('flowpack: warning: FLOWPACK_EXIT_GRACE="soon": expected seconds between 0 and 3600; waiting the default 2 s');
  });
});
