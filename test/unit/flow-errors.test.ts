import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, FlowResultError, FlowRunError, InterruptedError, ManifestError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import { failureRecord, reportError } from "../../src/_internal/report.js";
import { exitGraceMs, stopGraceMs } from "../../src/_internal/stop.js";
import { errorFromRecord } from "../../src/run/error-record.js";
import { flowFailure } from "../../src/run/flow-failure.js";
import { jsonProblems } from "../../src/run/json-result.js";
import { runFlow } from "../../src/run/local.js";
import { rejection } from "../helpers/rejection.js";

class ValidationError extends Error {
  override name = "ValidationError";
}

describe("a failed flow keeps its error's story", () => {
  it("name, message and the cause chain in one line; stacks of the error and each cause kept", () => {
    const root = new TypeError("Cannot read properties of undefined (reading 'id')");
    const thrown = new ValidationError("bad row", { cause: new Error("row 3 rejected", { cause: root }) });
    const error = flowFailure("etl", thrown, "run-1");
    expect(error.message).toBe(`flow "etl" failed: ValidationError: bad row (caused by: row 3 rejected; caused by: TypeError: Cannot read properties of undefined (reading 'id'))`);
    expect(error.flowError).toMatchObject({ name: "ValidationError", message: "bad row" });
    expect(error.flowError?.stack).toMatch(/^ValidationError: bad row\n\s+at /);
    expect(error.causes.map((c) => c.name)).toEqual(["Error", "TypeError"]);
    expect(error.causes[1]!.stack).toContain("flow-errors.test.ts");
    expect(error.runId).toBe("run-1");
    expect(error.cause).toBe(thrown);
  });

  it("a cycle of causes, a non-Error throw and a non-Error cause are told, not looped on", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(flowFailure("f", a).causes.map((c) => c.message)).toEqual(["b"]);
    expect(flowFailure("f", "just a string").message).toBe('flow "f" failed: string: just a string');
    const withCode = flowFailure("f", new Error("wrap", { cause: { code: 42, detail: "x" } }));
    expect(withCode.causes).toEqual([{ name: "object", message: "{ code: 42, detail: 'x' }" }]);
  });

  it("a Node error's code rides along with its cause", () => {
    const enoent = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    expect(flowFailure("f", new Error("load failed", { cause: enoent })).causes[0]).toMatchObject({ code: "ENOENT", name: "Error" });
  });
});

describe("the --json failure record", () => {
  afterEach(() => vi.restoreAllMocks());

  it("a failed flow: run ID, status failed, the flow's error name, stack and causes", () => {
    const error = flowFailure("etl", new ValidationError("bad row", { cause: new TypeError("nope") }), "run-7");
    const record = failureRecord(error, false);
    expect(record).toMatchObject({ runId: "run-7", status: "failed", error: { code: "FLOW_FAILED", name: "ValidationError", hint: null } });
    expect(record.error.stack).toMatch(/^ValidationError: bad row/);
    expect(record.error.cause).toEqual([expect.objectContaining({ name: "TypeError", message: "nope" })]);
  });

  it("other errors: their class name, no stack unless --debug", () => {
    const record = failureRecord(new ManifestError("bad manifest", { hint: "package again" }), false);
    expect(record).toEqual({ status: "failed", error: { code: "MANIFEST_INVALID", message: "bad manifest", hint: "package again", name: "ManifestError", cause: [] } });
    expect(failureRecord(new ManifestError("bad"), true).error.stack).toMatch(/^ManifestError: bad/);
  });

  it("the runner's --json mode prints the record only: the host prints the line, once", () => {
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const code = reportError(flowFailure("f", new Error("boom")), false, true, { human: false });
    expect(code).toBe(1);
    expect(err).not.toHaveBeenCalled();
    expect(JSON.parse(String(out.mock.calls[0]![0]))).toMatchObject({ status: "failed", error: { code: "FLOW_FAILED" } });
  });

  it("--debug prints the flow's stack and each cause's, not flowpack's", () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    reportError(flowFailure("f", new ValidationError("bad row", { cause: new TypeError("nope") })), true, false);
    const text = err.mock.calls.map((c) => String(c[0])).join("");
    expect(text).toMatch(/^flowpack: error: flow "f" failed: ValidationError: bad row \(caused by: TypeError: nope\)\nValidationError: bad row\n\s+at .*flow-errors\.test\.ts/);
    expect(text).toMatch(/\ncaused by: TypeError: nope\n\s+at .*flow-errors\.test\.ts/);
    expect(text.match(/flowpack: error:/g)).toHaveLength(1);
  });

  it("a runner's record comes back on the host with the same story", () => {
    const original = flowFailure("etl", new ValidationError("bad row", { cause: new TypeError("nope") }), "run-9");
    const record = JSON.parse(JSON.stringify(failureRecord(original, false))) as ReturnType<typeof failureRecord>;
    const rebuilt = errorFromRecord(record.error, "etl", 1, record.runId) as FlowRunError;
    expect(rebuilt).toBeInstanceOf(FlowRunError);
    expect(rebuilt.message).toBe(original.message);
    expect(rebuilt.runId).toBe("run-9");
    expect(rebuilt.flowError).toMatchObject({ name: "ValidationError", stack: original.flowError!.stack });
    expect(rebuilt.causes).toEqual(original.causes);
    expect(failureRecord(rebuilt, false)).toEqual(record);
    const result = errorFromRecord({ code: "FLOW_RESULT_INVALID", message: "m", name: "FlowResultError", cause: [] }, "etl", 1);
    expect(result).toBeInstanceOf(FlowResultError);
  });
});

describe("results JSON cannot carry are named by path, never lost", () => {
  it("BigInt, Map, Set, cycles, NaN/Infinity, undefined and functions in arrays", () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(jsonProblems({ rows: [{ id: 1 }, { id: 2n }] })).toEqual(["result.rows[1].id: BigInt cannot be represented in JSON; return it as a string or a number"]);
    expect(jsonProblems(new Map())).toEqual(["result: a Map becomes {} in JSON; return Object.fromEntries(map)"]);
    expect(jsonProblems({ tags: new Set(["a"]) })[0]).toMatch(/^result\.tags: a Set becomes \{\}/);
    expect(jsonProblems(cycle)).toEqual(["result.self: a circular reference cannot be represented in JSON"]);
    expect(jsonProblems({ ratio: NaN, max: -Infinity })).toEqual([
      "result.ratio: NaN cannot be represented in JSON (it would become null)",
      "result.max: -Infinity cannot be represented in JSON (it would become null)",
    ]);
    expect(jsonProblems([1, undefined])).toEqual(["result[1]: undefined in an array cannot be represented in JSON (it would become null)"]);
    expect(jsonProblems({ "a b": () => 1 })).toEqual(['result["a b"]: a function cannot be represented in JSON']);
    expect(jsonProblems({ err: new Error("x") })[0]).toMatch(/^result\.err: an Error becomes \{\}/);
    expect(jsonProblems(Array.from({ length: 9 }, () => 1n))).toHaveLength(5);
  });

  it("JSON's own conventions pass: toJSON (Date, Buffer), absent properties, shared (not circular) objects, null", () => {
    const shared = { x: 1 };
    expect(jsonProblems({ at: new Date(0), bytes: Buffer.from("hi"), missing: undefined, a: shared, b: shared, none: null, s: "", n: -0 })).toEqual([]);
    expect(jsonProblems({ bad: { toJSON: () => 1n } })).toEqual(["result.bad: BigInt cannot be represented in JSON; return it as a string or a number"]);
  });

  it("runFlow: a BigInt or Map result is a FlowResultError (exit 1) naming the path", async () => {
    const big = flow({ name: "big" }, async () => ({ total: 10n }));
    const error = (await rejection(runFlow(big, {}, "run-b"))) as FlowResultError;
    expect(error).toBeInstanceOf(FlowResultError);
    expect([error.code, error.exitCode, error.runId]).toEqual(["FLOW_RESULT_INVALID", 1, "run-b"]);
    expect(error.message).toBe('flow "big" returned a result JSON cannot carry: result.total: BigInt cannot be represented in JSON; return it as a string or a number');
  });
});

describe("stopping a flow: ctx.signal and the grace period", () => {
  it("ctx.signal aborts; a flow that stops within the grace is still an interruption (143 for SIGTERM)", async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const waits = flow({ name: "waits" }, async (_p, ctx) => {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      seen.push(String(ctx.signal.reason));
      return "done";
    });
    const running = runFlow(waits, {}, undefined, { signal: controller.signal, graceMs: 60_000 });
    setTimeout(() => controller.abort("SIGTERM"), 10);
    const error = (await rejection(running)) as InterruptedError;
    expect(error).toBeInstanceOf(InterruptedError);
    expect([error.exitCode, error.signal]).toEqual([143, "SIGTERM"]);
    expect(error.message).toBe('interrupted by SIGTERM: flow "waits" stopped after ctx.signal aborted');
    expect(seen).toEqual(["SIGTERM"]);
  });

  it("a flow that ignores the signal is given up on after the grace period; SIGINT is 130", async () => {
    const deaf = flow({ name: "deaf" }, () => new Promise<never>(() => undefined));
    const controller = new AbortController();
    controller.abort("SIGINT");
    const error = (await rejection(runFlow(deaf, {}, undefined, { signal: controller.signal, graceMs: 20 }))) as InterruptedError;
    expect([error.exitCode, error.message]).toEqual([130, 'interrupted by SIGINT: flow "deaf" did not stop within 20 ms of ctx.signal aborting']);
  });

  it("without a stop, ctx.signal never aborts and the result comes back", async () => {
    const calm = flow({ name: "calm" }, async (_p, ctx) => ctx.signal.aborted);
    await expect(runFlow(calm, {}, undefined, { signal: new AbortController().signal })).resolves.toMatchObject({ result: false });
    await expect(runFlow(calm, {})).resolves.toMatchObject({ result: false });
  });

  it("FLOWPACK_STOP_GRACE: seconds, default 10, refused when not a number of seconds", () => {
    expect(stopGraceMs({})).toBe(10_000);
    expect(stopGraceMs({ FLOWPACK_STOP_GRACE: "2.5" })).toBe(2500);
    expect(stopGraceMs({ FLOWPACK_STOP_GRACE: "0" })).toBe(0);
    expect(() => stopGraceMs({ FLOWPACK_STOP_GRACE: "ten" })).toThrowError(ConfigError);
    expect(() => stopGraceMs({ FLOWPACK_STOP_GRACE: "-1" })).toThrowError(/expected seconds between 0 and 3600/);
  });

  it("FLOWPACK_EXIT_GRACE: seconds, default 2, refused when not a number of seconds", () => {
    expect(exitGraceMs({})).toBe(2_000);
    expect(exitGraceMs({ FLOWPACK_EXIT_GRACE: "0.25" })).toBe(250);
    expect(exitGraceMs({ FLOWPACK_EXIT_GRACE: "0" })).toBe(0);
    expect(() => exitGraceMs({ FLOWPACK_EXIT_GRACE: "4000" })).toThrowError(/FLOWPACK_EXIT_GRACE="4000": expected seconds between 0 and 3600/);
  });
});
