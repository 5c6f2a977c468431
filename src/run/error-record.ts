import * as errors from "../errors.js";
import { ContainerRunError, FlowpackError, FlowRunError, ParameterValidationError, type ErrorStory, type FlowRunErrorOptions, type ParameterIssue } from "../errors.js";

/** An error as a flowpack process reports it with --json: `{ "error": { code, message, hint, name, stack, cause, issues } }`. */
export interface ErrorRecord {
  code?: string;
  message?: string;
  hint?: string | null;
  /** The error's class; for a failed flow, the class of what the flow threw. */
  name?: string;
  stack?: string;
  cause?: ErrorStory[];
  issues?: ParameterIssue[];
}

type ErrorClass = new (message: string, options?: errors.FlowpackErrorOptions) => FlowpackError;

let byCode: Map<string, ErrorClass> | undefined;

/** Every concrete FlowpackError class, by its code (made on first use). */
function errorClasses(): Map<string, ErrorClass> {
  if (byCode) return byCode;
  byCode = new Map();
  for (const value of Object.values(errors)) {
    if (typeof value !== "function" || !(value.prototype instanceof FlowpackError) || value === ParameterValidationError) continue;
    let code: string;
    try {
      code = new (value as ErrorClass)("").code;
    } catch {
      continue; // a family whose code is per instance (FileSystemError): revived by exit status, code kept
    }
    if (!byCode.has(code)) byCode.set(code, value as ErrorClass);
  }
  return byCode;
}

/**
 * Rebuilds the error a runner reported (in a container, on a cluster) as the class its code names,
 * with its message, hint and parameter issues — and for a failed flow, the flow's error name, stack,
 * cause chain and run ID — so the caller sees what the runner saw: the same class, code and exit
 * status. A code this copy of flowpack does not know keeps its code, with the class the exit status
 * implies.
 */
export function errorFromRecord(record: ErrorRecord, flowName: string, exitCode: number, runId?: string): FlowpackError {
  const message = record.message ?? `the runner exited ${exitCode}`;
  const options: FlowRunErrorOptions = record.hint ? { hint: record.hint } : {};
  if (record.code === "PARAMETERS_INVALID") return new ParameterValidationError(flowName, record.issues ?? [], options);
  if (exitCode === 1) Object.assign(options, flowStory(record, message), runId ? { runId } : {});
  const known = record.code === undefined ? undefined : errorClasses().get(record.code);
  if (known) return new known(message, options);
  const error = exitCode === 1 ? new FlowRunError(message, options) : exitCode === 2 ? new FlowpackError(message, options) : new ContainerRunError(message, options);
  if (record.code !== undefined) Object.defineProperty(error, "code", { value: record.code });
  return error;
}

/**
 * The error a runner's `--json` output reports (`{ error, runId }`, as a container or a cluster task
 * printed it), rebuilt by errorFromRecord; output without a record still fails, by exit status.
 */
export function errorFromRunnerOutput(output: unknown, flowName: string, exitCode: number): FlowpackError {
  const failure = (output ?? {}) as { error?: ErrorRecord; runId?: unknown };
  return errorFromRecord(failure.error ?? {}, flowName, exitCode, typeof failure.runId === "string" ? failure.runId : undefined);
}

/** A failed flow's own error and causes, as far as the record carries them (checked: it crossed a process boundary). */
function flowStory(record: ErrorRecord, message: string): Pick<FlowRunErrorOptions, "flowError" | "causes"> {
  if (typeof record.name !== "string") return {};
  const flowError: ErrorStory = { name: record.name, message, ...(typeof record.stack === "string" ? { stack: record.stack } : {}) };
  const causes = Array.isArray(record.cause) ? record.cause.filter(isStory) : [];
  return { flowError, causes };
}

function isStory(value: unknown): value is ErrorStory {
  const v = value as Partial<ErrorStory> | null;
  return typeof v === "object" && v !== null && typeof v.name === "string" && typeof v.message === "string" && (v.stack === undefined || typeof v.stack === "string");
}
