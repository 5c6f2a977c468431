import { randomUUID } from "node:crypto";
import { InterruptedError, ParameterValidationError, isFlowpackError, type ParameterIssue } from "../errors.js";
import { createContext, type AnyFlow } from "../flow/flow.js";
import { stopGraceMs } from "../_internal/stop.js";
import { flowFailure, untilStopped } from "./flow-failure.js";
import { assertJsonResult } from "./json-result.js";
import { assertNoReservedKeys, unknownParameterIssues } from "./parameters.js";

export interface RunRecord {
  flowName: string;
  runId: string;
  status: "completed";
  result: unknown;
  durationMs: number;
}

export interface RunFlowOptions {
  /** Becomes the flow's `ctx.signal`; once it aborts the flow gets the grace period to stop. */
  signal?: AbortSignal;
  /** How long the flow may take to stop after `signal` aborts. Default: FLOWPACK_STOP_GRACE, or 10 s. */
  graceMs?: number;
}

/**
 * Runs a loaded flow in this process. Invalid parameters (unknown ones included, unless the schema
 * allows extra keys) raise ParameterValidationError (exit 2); they are validated once, then the
 * flow's function is called, and anything it throws becomes FlowRunError (exit 1) keeping its
 * name, message, stack and causes. A result JSON cannot carry is FlowResultError (exit 1) naming
 * where. An aborted `signal` raises InterruptedError once the flow stopped or its grace ran out.
 * While the flow runs, console.log/info/debug write to stderr: stdout is the result's.
 */
export async function runFlow(flow: AnyFlow, params: Record<string, unknown>, runId: string = randomUUID(), options: RunFlowOptions = {}): Promise<RunRecord> {
  const restoreConsole = consoleToStderr();
  try {
    const valid = checkParameters(flow, params);
    const graceMs = options.graceMs ?? (options.signal ? stopGraceMs() : 0);
    const started = performance.now();
    let result: unknown;
    try {
      const context = createContext(flow.name, { runId, ...(options.signal ? { signal: options.signal } : {}) });
      result = await untilStopped(flow.name, Promise.resolve().then(() => flow.fn(valid, context)), options.signal, graceMs);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      throw flowFailure(flow.name, error, runId);
    }
    assertJsonResult(flow.name, result, runId);
    return {
      flowName: flow.name,
      runId,
      status: "completed",
      result: result === undefined ? null : result,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    restoreConsole();
  }
}

/** The flow's own validation (defaults, transforms) plus unknown keys, reported together; reserved keys first. */
function checkParameters(flow: AnyFlow, params: Record<string, unknown>): unknown {
  assertNoReservedKeys(flow.name, params);
  const issues: ParameterIssue[] = unknownParameterIssues(params ?? {}, flow.parameterSchema());
  try {
    const valid = flow.validateParameters(params);
    if (issues.length === 0) return valid;
  } catch (error) {
    // The flow may come from a bundle with its own copy of flowpack: recognise its error by code.
    if (issues.length === 0 || !isFlowpackError(error) || error.code !== "PARAMETERS_INVALID") throw error;
    issues.push(...((error as Partial<ParameterValidationError>).issues ?? []));
  }
  throw new ParameterValidationError(flow.name, issues);
}

/* eslint-disable no-console -- this swaps the methods, it does not log */
let redirected = 0;
let saved: Pick<Console, "log" | "info" | "debug"> | undefined;

/** Points console.log/info/debug at stderr until the returned function is called (nesting-safe). */
function consoleToStderr(): () => void {
  if (redirected++ === 0) {
    saved = { log: console.log, info: console.info, debug: console.debug };
    console.log = console.info = console.debug = console.error;
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    if (--redirected === 0 && saved) Object.assign(console, saved);
  };
}
/* eslint-enable no-console */
