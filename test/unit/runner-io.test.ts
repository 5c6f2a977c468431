import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/errors.js";
import { runnerInputs, terminationMessage, TERMINATION_MESSAGE_LIMIT, writeResultFile } from "../../src/run/runner-io.js";

const sets = JSON.stringify([{ day: "a" }, { day: "b" }, { day: "c" }]);

describe("runnerInputs", () => {
  it("passes FLOWPACK_PARAMS and FLOWPACK_RUN_ID through", () => {
    expect(runnerInputs({ FLOWPACK_PARAMS: '{"n":1}', FLOWPACK_RUN_ID: "r1" })).toEqual({ params: '{"n":1}', runId: "r1" });
    expect(runnerInputs({})).toEqual({ params: undefined, runId: undefined });
  });

  it("picks the set at JOB_COMPLETION_INDEX; the run id gets the index", () => {
    expect(runnerInputs({ FLOWPACK_PARAM_SETS: sets, JOB_COMPLETION_INDEX: "2", FLOWPACK_RUN_ID: "r" })).toEqual({ params: '{"day":"c"}', runId: "r-2" });
    expect(runnerInputs({ FLOWPACK_PARAM_SETS: sets, JOB_COMPLETION_INDEX: "0" })).toEqual({ params: '{"day":"a"}', runId: undefined });
  });

  it.each([
    [{ FLOWPACK_PARAM_SETS: sets }, "JOB_COMPLETION_INDEX is not set"],
    [{ FLOWPACK_PARAM_SETS: sets, JOB_COMPLETION_INDEX: "3" }, 'JOB_COMPLETION_INDEX is "3"'],
    [{ FLOWPACK_PARAM_SETS: sets, JOB_COMPLETION_INDEX: "-1" }, 'JOB_COMPLETION_INDEX is "-1"'],
    [{ FLOWPACK_PARAM_SETS: "{", JOB_COMPLETION_INDEX: "0" }, "not valid JSON"],
    [{ FLOWPACK_PARAM_SETS: "{}", JOB_COMPLETION_INDEX: "0" }, "expected a JSON array"],
    [{ FLOWPACK_PARAM_SETS: sets, FLOWPACK_PARAMS: "{}", JOB_COMPLETION_INDEX: "0" }, "not both"],
  ])("refuses %j (exit 2)", (env, message) => {
    let error: unknown;
    try {
      runnerInputs(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
  });
});

describe("terminationMessage", () => {
  const success = { flowName: "f", runId: "r", status: "completed", result: { rows: 3 }, durationMs: 12 };

  it("is the whole record, compact, when it fits", () => {
    expect(terminationMessage(success)).toBe(JSON.stringify(success));
  });

  it("drops a result too big for the 4 KiB limit, keeping valid JSON with the status", () => {
    const big = { ...success, result: "é".repeat(5000) };
    const text = terminationMessage(big);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    expect(JSON.parse(text)).toEqual({ flowName: "f", runId: "r", status: "completed", durationMs: 12, truncated: true });
  });

  it("keeps a failure's code, name and the start of its message", () => {
    const failure = { runId: "r", status: "failed", error: { code: "FLOW_FAILED", name: "Error", message: `boom ${"x".repeat(9000)}`, hint: null, stack: "s".repeat(9000), cause: [] } };
    const text = terminationMessage(failure);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    const parsed = JSON.parse(text) as { error: { message: string }; truncated: boolean };
    expect(parsed).toMatchObject({ runId: "r", status: "failed", error: { code: "FLOW_FAILED", name: "Error" }, truncated: true });
    expect(parsed.error.message.startsWith("boom x")).toBe(true);
  });

  it("falls back to the status alone when even that does not fit a tiny limit", () => {
    const text = terminationMessage({ ...success, flowName: "f".repeat(200) }, 60);
    expect(JSON.parse(text)).toEqual({ status: "completed", truncated: true });
  });
});

describe("writeResultFile", () => {
  it("writes the record to FLOWPACK_RESULT_FILE; nothing without it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "flowpack-result-")), "termination-log");
    writeResultFile({}, { status: "completed" });
    writeResultFile({ FLOWPACK_RESULT_FILE: file }, { status: "completed", result: 1 });
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ status: "completed", result: 1 });
  });

  it("a file it cannot write is a warning naming the variable, not a failure", () => {
    const warn = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      writeResultFile({ FLOWPACK_RESULT_FILE: "/nonexistent-dir/termination-log" }, { status: "completed" });
      expect(String(warn.mock.calls[0]?.[0])).toContain("cannot write the result to FLOWPACK_RESULT_FILE=/nonexistent-dir/termination-log: ENOENT");
    } finally {
      warn.mockRestore();
    }
  });
});
