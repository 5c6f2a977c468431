import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ContainerRunError, FlowRunError, InterruptedError, ParameterValidationError, UsageError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import { baseManifest } from "../../src/manifest/registry.js";
import { BATCH_TARGETS, type BatchTarget } from "../../src/run/batch-target.js";
import { eachExitCode, runEach, type EachOutcome } from "../../src/run/each.js";
import { checkEachFlags, orderedWriter, prefixedLogs, resultLine } from "../../src/cli/each.js";

const square = flow({ name: "square", parameters: z.object({ n: z.number().int(), wait: z.number().default(0) }) }, async ({ n }) => n * n);
const manifest = baseManifest("docker", square).finalize({ image: `127.0.0.1:5000/f/square:1@sha256:${"a".repeat(64)}`, imageFlowLocation: "/opt/flowpack/flow.mjs" });
const sets = (...ns: number[]) => ns.map((n, i) => ({ line: i + 1, params: { n } }));

/**
 * An in-process stand-in for a target (fault injection): each run waits until the test releases it,
 * so the test decides the completion order; `fail` decides a run's error.
 */
function fakeTarget(fail: (n: number) => Error | undefined = () => undefined) {
  const pending = new Map<number, () => void>();
  const started: number[] = [];
  let running = 0;
  let maxRunning = 0;
  let prepared = 0;
  const target: BatchTarget = {
    defaultConcurrency: 2,
    async prepare() {
      prepared++;
      return {
        node: "fake-node",
        run: (params, { signal, onLog }) =>
          new Promise((resolve, reject) => {
            const n = params.n as number;
            started.push(n);
            maxRunning = Math.max(maxRunning, ++running);
            onLog?.(Buffer.from(`working on ${n}\n`));
            const settle = () => {
              running--;
              pending.delete(n);
              const error = fail(n);
              if (error) reject(error);
              else resolve({ flowName: "square", runId: `run-${n}`, status: "completed", result: n * n, durationMs: 1 });
            };
            pending.set(n, settle);
            signal?.addEventListener("abort", () => {
              running--;
              pending.delete(n);
              reject(new InterruptedError("interrupted: the container was stopped and removed", { signal: signal.reason as "SIGINT" }));
            }, { once: true });
          }),
      };
    },
  };
  /** Lets run `n` finish once it has started. */
  const release = async (n: number) => {
    await until(() => pending.has(n));
    pending.get(n)!();
  };
  return { target, release, started, pending, stats: () => ({ maxRunning, prepared }) };
}

async function until(check: () => boolean): Promise<void> {
  // bounded: a test that waits for a run that never starts fails rather than hangs
  for (let i = 0; i < 5000 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!check()) throw new Error("condition never met");
}

describe("runEach: fan-out over a target", () => {
  it("returns outcomes in input order whatever order the runs end in, and prepares the target once", async () => {
    const fake = fakeTarget();
    const finished: number[] = [];
    const batch = runEach(manifest, sets(1, 2, 3, 4), { target: fake.target, concurrency: 4, onResult: (o) => finished.push(o.index) });
    for (const n of [3, 1, 4, 2]) await fake.release(n);
    const report = await batch;
    expect(finished).toEqual([2, 0, 3, 1]);
    expect(report.exitCode).toBe(0);
    expect(report.outcomes.map((o) => (o.ok ? o.result : null))).toEqual([1, 4, 9, 16]);
    expect(report.outcomes.map((o) => [o.index, o.line, o.node])).toEqual([[0, 1, "fake-node"], [1, 2, "fake-node"], [2, 3, "fake-node"], [3, 4, "fake-node"]]);
    expect(fake.stats().prepared).toBe(1);
  });

  it("never runs more than the concurrency at once, and uses the target's default without one", async () => {
    for (const [concurrency, expected] of [[3, 3], [undefined, 2]] as const) {
      const fake = fakeTarget();
      const batch = runEach(manifest, sets(1, 2, 3, 4, 5, 6, 7), { target: fake.target, ...(concurrency ? { concurrency } : {}) });
      for (const n of [1, 2, 3, 4, 5, 6, 7]) await fake.release(n);
      await batch;
      expect(fake.stats().maxRunning).toBe(expected);
    }
  });

  it("a flow that fails is reported and the others go on: exit 1", async () => {
    const fake = fakeTarget((n) => (n === 2 ? new FlowRunError("two is not allowed") : undefined));
    const batch = runEach(manifest, sets(1, 2, 3), { target: fake.target, concurrency: 1 });
    for (const n of [1, 2, 3]) await fake.release(n);
    const report = await batch;
    expect(report.exitCode).toBe(1);
    expect(report.outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(report.outcomes[1]).toMatchObject({ ok: false, exitCode: 1, notRun: false, error: { code: "FLOW_FAILED", message: "two is not allowed" } });
  });

  it("an infrastructure failure starts no new run: the rest are reported as not run, exit 3", async () => {
    const fake = fakeTarget((n) => (n === 2 ? new ContainerRunError("cannot create a container: daemon gone") : undefined));
    const batch = runEach(manifest, sets(1, 2, 3, 4), { target: fake.target, concurrency: 1 });
    await fake.release(1);
    await fake.release(2);
    const report = await batch;
    expect(fake.started).toEqual([1, 2]);
    expect(report.exitCode).toBe(3);
    expect(report.outcomes.slice(2)).toMatchObject([
      { index: 2, ok: false, notRun: true, exitCode: 3, error: { code: "NOT_RUN", message: "not run: an earlier run failed: cannot create a container: daemon gone" } },
      { index: 3, ok: false, notRun: true },
    ]);
  });

  it("an abort stops every running run and starts no more: 130 for SIGINT, 143 for SIGTERM", async () => {
    for (const [reason, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const fake = fakeTarget();
      const controller = new AbortController();
      const batch = runEach(manifest, sets(1, 2, 3, 4, 5), { target: fake.target, concurrency: 2, signal: controller.signal });
      await fake.release(1);
      await until(() => fake.pending.size === 2);
      controller.abort(reason);
      const report = await batch;
      expect(fake.pending.size).toBe(0);
      expect(fake.started).toEqual([1, 2, 3]);
      expect(report.exitCode).toBe(code);
      expect(report.outcomes.map((o) => (o.ok ? "ok" : o.notRun ? "not run" : o.error.code))).toEqual(["ok", "INTERRUPTED", "INTERRUPTED", "not run", "not run"]);
    }
  });

  it("timeoutMs: a run past it is stopped and fails alone with RUN_TIMEOUT (exit 3); the batch goes on starting the others", async () => {
    const stopped: { n: number; reason: unknown }[] = [];
    const target: BatchTarget = {
      defaultConcurrency: 1,
      async prepare() {
        return {
          node: "fake-node",
          // Every set but n=2 ends at once; n=2 runs until its signal aborts, then reports it stopped what it started.
          run: (params, { signal }) =>
            new Promise((resolve, reject) => {
              const n = params.n as number;
              if (n !== 2) return resolve({ flowName: "square", runId: `run-${n}`, status: "completed", result: n * n, durationMs: 1 });
              signal?.addEventListener("abort", () => {
                stopped.push({ n, reason: signal.reason });
                reject(new InterruptedError("interrupted: the container was stopped and removed"));
              }, { once: true });
            }),
        };
      },
    };
    // One at a time: were the timed-out run treated as a broken engine, set 3 would never start.
    const report = await runEach(manifest, sets(1, 2, 3), { target, concurrency: 1, timeoutMs: 50 });
    expect(stopped).toEqual([{ n: 2, reason: "timeout" }]);
    expect(report.outcomes.map((o) => (o.ok ? ["ok", o.result] : [o.error.code, o.exitCode, o.notRun]))).toEqual([["ok", 1], ["RUN_TIMEOUT", 3, false], ["ok", 9]]);
    expect(report.outcomes[1]).toMatchObject({ error: { message: "timed out after 50ms; the run was stopped and what it started removed" } });
    expect(report.exitCode).toBe(3);
  });

  it("timeoutMs does not change a stop: an abort is still INTERRUPTED (130), and a bad timeoutMs is refused before anything starts", async () => {
    const fake = fakeTarget();
    const controller = new AbortController();
    const batch = runEach(manifest, sets(1, 2), { target: fake.target, concurrency: 2, signal: controller.signal, timeoutMs: 3_600_000 });
    await until(() => fake.pending.size === 2);
    controller.abort("SIGINT");
    const report = await batch;
    expect(report.exitCode).toBe(130);
    expect(report.outcomes.map((o) => (o.ok ? "ok" : o.error.code))).toEqual(["INTERRUPTED", "INTERRUPTED"]);
    for (const timeoutMs of [0, -1, 1.5]) {
      const unused = fakeTarget();
      await expect(runEach(manifest, sets(1), { target: unused.target, timeoutMs })).rejects.toThrow(UsageError);
      expect(unused.stats().prepared).toBe(0);
    }
  });

  it("a stop that comes while the target is being prepared starts nothing: every set NOT_RUN, 130", async () => {
    const fake = fakeTarget();
    const controller = new AbortController();
    const target: BatchTarget = {
      defaultConcurrency: 2,
      prepare: async (m, o) => {
        controller.abort("SIGINT"); // Ctrl-C while pulling, asking the manager, …
        return fake.target.prepare(m, o);
      },
    };
    const report = await runEach(manifest, sets(1, 2, 3), { target, signal: controller.signal });
    expect(fake.started).toEqual([]);
    expect(report.exitCode).toBe(130);
    expect(report.outcomes.map((o) => (!o.ok && o.notRun ? "not run" : "ran"))).toEqual(["not run", "not run", "not run"]);
  });

  it("--on local with --env runs one set at a time: a concurrency above 1 is refused before anything starts", async () => {
    await expect(runEach(manifest, sets(1, 2), { on: "local", env: { A: "1" }, concurrency: 2 })).rejects.toThrow(/--concurrency must be 1/);
  });

  it("validates every set before anything starts, naming each bad one", async () => {
    const fake = fakeTarget();
    const error = await runEach(manifest, [{ line: 1, params: { n: 1 } }, { line: 4, params: { n: "x" } }, { line: 9, params: {} }], { target: fake.target }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect((error as ParameterValidationError).issues.map((i) => i.path)).toEqual(["line 4: n", "line 9: n"]);
    expect(fake.stats().prepared).toBe(0);
  });

  it("refuses a bad concurrency and an empty batch", async () => {
    const fake = fakeTarget();
    await expect(runEach(manifest, sets(1), { target: fake.target, concurrency: 0 })).rejects.toThrow(UsageError);
    await expect(runEach(manifest, [], { target: fake.target })).rejects.toThrow("no parameter sets to run");
  });

  it("passes each run's logs on with its index", async () => {
    const fake = fakeTarget();
    const logs: string[] = [];
    const batch = runEach(manifest, sets(5, 6), { target: fake.target, concurrency: 2, onLog: (i, chunk) => logs.push(`${i}:${chunk.toString().trim()}`) });
    await fake.release(5);
    await fake.release(6);
    await batch;
    expect(logs.sort()).toEqual(["0:working on 5", "1:working on 6"]);
  });

  it("the batch's exit status: 130/143 > 3 > 2 > 1 > 0", () => {
    const failed = (exitCode: number): EachOutcome => ({ index: 0, ok: false, exitCode, notRun: false, durationMs: 0, error: { code: "X", message: "x" } });
    const ok: EachOutcome = { index: 0, ok: true, runId: "r", result: 1, durationMs: 0 };
    expect(eachExitCode([ok, ok])).toBe(0);
    expect(eachExitCode([ok, failed(1)])).toBe(1);
    expect(eachExitCode([failed(1), failed(2)])).toBe(2);
    expect(eachExitCode([failed(3), failed(2), failed(1)])).toBe(3);
    expect(eachExitCode([failed(1), failed(130), failed(3)])).toBe(130);
    expect(eachExitCode([failed(143), failed(3)])).toBe(143);
  });
});

describe("flowpack run --each: output helpers", () => {
  it("writes lines in input order as soon as every earlier line is out", () => {
    const out: string[] = [];
    const write = orderedWriter((t) => out.push(t));
    write(2, "c");
    expect(out).toEqual([]);
    write(0, "a");
    expect(out).toEqual(["a"]);
    write(1, "b");
    expect(out).toEqual(["a", "b", "c"]);
  });

  it("prefixes each run's log lines with [#i], keeping a partial line until it ends", () => {
    const out: string[] = [];
    const logs = prefixedLogs((t) => out.push(t));
    logs.write(3, Buffer.from("one\ntw"));
    logs.write(1, Buffer.from("x\n"));
    logs.write(3, Buffer.from("o\nthree"));
    logs.flush(3);
    expect(out.join("")).toBe("[#3] one\n[#1] x\n[#3] two\n[#3] three\n");
  });

  it("result lines carry index, line, ok, result or error, node and duration", () => {
    expect(resultLine({ index: 0, line: 2, ok: true, runId: "r", result: { a: 1 }, node: "n", durationMs: 5 })).toEqual({ index: 0, line: 2, ok: true, result: { a: 1 }, runId: "r", node: "n", durationMs: 5 });
    expect(resultLine({ index: 1, line: 3, ok: false, exitCode: 1, notRun: false, node: "n", durationMs: 5, error: { code: "FLOW_FAILED", message: "boom", hint: "h" } })).toEqual({ index: 1, line: 3, ok: false, error: { code: "FLOW_FAILED", message: "boom" }, node: "n", durationMs: 5 });
  });

  it("refuses --each with --param/--params, --concurrency without --each, and a bad --concurrency", () => {
    expect(() => checkEachFlags({ each: "p.jsonl", param: ["a=1"] })).toThrow("--each takes every run's parameters from its file");
    expect(() => checkEachFlags({ each: "p.jsonl", param: [], params: "{}" })).toThrow(UsageError);
    expect(() => checkEachFlags({ concurrency: "2", param: [] })).toThrow("--concurrency applies to --each only");
    expect(() => checkEachFlags({ each: "-", concurrency: "0", param: [] })).toThrow('--concurrency "0": expected a whole number of 1 or more');
    expect(() => checkEachFlags({ each: "-", concurrency: "3", param: [] })).not.toThrow();
  });
});

describe("BATCH_TARGETS: what each target refuses before anything starts", () => {
  const noDaemon = { env: {}, hostEnv: { DOCKER_HOST: "unix:///nonexistent/docker.sock" }, source: "m.json" };

  it("local 1 and docker 4 runs at once by default", () => {
    expect(BATCH_TARGETS.local!.defaultConcurrency).toBe(1);
    expect(BATCH_TARGETS.docker!.defaultConcurrency).toBe(4);
  });

  it("local refuses --network and a flow that is inside a registry image; docker refuses a file manifest", async () => {
    await expect(BATCH_TARGETS.local!.prepare(manifest, { ...noDaemon, network: "none" })).rejects.toThrow("--network applies to runs in a container (--on docker) only");
    await expect(BATCH_TARGETS.local!.prepare(manifest, noDaemon)).rejects.toThrow("--on local cannot run m.json with --each: its flow is inside the image");
    const file = baseManifest("file", square).finalize({ serializer: { type: "bundle" }, key: `sha256:${"b".repeat(64)}`, store: "/nonexistent" } as never);
    await expect(BATCH_TARGETS.docker!.prepare(file, noDaemon)).rejects.toThrow('--on docker needs a docker manifest; this one is "file"');
  });

  it("runEach names the targets it knows when asked for one it does not", async () => {
    await expect(runEach(manifest, sets(1), { on: "moon" })).rejects.toThrow('unknown --on "moon"');
  });
});
