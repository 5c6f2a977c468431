import { randomUUID } from "node:crypto";
import { FlowRunError, ParameterValidationError, isFlowpackError, type ParameterIssue } from "../errors.js";
import { createContext, type AnyFlow } from "../flow/flow.js";
import { reservedKeyIssues, unknownParameterIssues } from "./parameters.js";

export interface RunRecord {
  flowName: string;
  runId: string;
  status: "completed";
  result: unknown;
  durationMs: number;
}

/**
 * Runs a loaded flow in this process. Invalid parameters (unknown ones included, unless the schema
 * allows extra keys) raise ParameterValidationError (exit 2); they are validated once, then the
 * flow's function is called, and anything it throws becomes FlowRunError (exit 1) carrying its
 * message. While the flow runs, console.log/info/debug write to stderr: stdout is the result's.
 */
export async function runFlow(flow: AnyFlow, params: Record<string, unknown>, runId: string = randomUUID()): Promise<RunRecord> {
  const restoreConsole = consoleToStderr();
  try {
    const valid = checkParameters(flow, params);
    const started = performance.now();
    let result: unknown;
    try {
      result = await flow.fn(valid, createContext(flow.name, { runId }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new FlowRunError(`flow "${flow.name}" failed: ${message}`, { cause: error });
    }
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
  const reserved = reservedKeyIssues(params);
  if (reserved.length > 0) throw new ParameterValidationError(flow.name, reserved);
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
