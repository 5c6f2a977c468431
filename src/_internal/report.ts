import { isFlowpackError, type ErrorStory, type FlowpackError, type ParameterIssue } from "../errors.js";
import { causesOf, headline, storyOf } from "./error-story.js";

/** JSON as flowpack prints it: two-space indent, trailing newline. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

export interface ReportOptions {
  /** Print the human line on stderr too (default). The in-image runner with --json prints only the record: the host prints the line. */
  human?: boolean;
}

/** A failure as `--json` prints it on stdout. */
export interface FailureRecord {
  runId?: string;
  status: "failed";
  error: {
    code: string;
    message: string;
    hint: string | null;
    /** The error's class name; for a failed flow, the name of the error the flow threw. */
    name: string;
    /** For a failed flow, the stack of what it threw (source-mapped); for others only with --debug. */
    stack?: string;
    /** The cause chain, outermost first. */
    cause: ErrorStory[];
    issues?: ParameterIssue[];
  };
}

/**
 * Prints an error as one line (plus a hint line) on stderr (and as a FailureRecord on stdout with
 * `json`) and returns the exit code. Stack traces only with `debug` (for a failed flow: the flow's
 * own stack and its causes'), or for errors that are not flowpack's own (those are bugs: say so).
 * Shared by the CLI and the in-image runner.
 */
export function reportError(error: unknown, debug: boolean, json: boolean, options: ReportOptions = {}): number {
  const human = options.human ?? true;
  if (isFlowpackError(error)) {
    const e = error as FlowpackError;
    if (json) process.stdout.write(toJson(failureRecord(e, debug)));
    if (!human) return e.exitCode;
    process.stderr.write(`flowpack: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    if (debug) process.stderr.write(debugStacks(e));
    return e.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(toJson(errorRecord(error, debug)));
  if (!human) return 3;
  process.stderr.write(`flowpack: internal error: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write("  hint: rerun with --debug for details, and please report it\n");
  return 3;
}

/** The `--json` record of any error: a flowpack error's (failureRecord), or an internal error's. */
export function errorRecord(error: unknown, debug: boolean): FailureRecord {
  if (isFlowpackError(error)) return failureRecord(error as FlowpackError, debug);
  const message = error instanceof Error ? error.message : String(error);
  const story = storyOf(error);
  return { status: "failed", error: { code: "INTERNAL", message: `internal error: ${message}`, hint: "please report it", name: story.name, cause: causesOf(error), ...(debug && story.stack ? { stack: story.stack } : {}) } };
}

/** The `--json` record of a flowpack error; a failed flow's record carries the flow's own error. */
export function failureRecord(e: FlowpackError, debug: boolean): FailureRecord {
  const flow = flowStoryOf(e);
  const runId = (e as { runId?: unknown }).runId;
  const own = storyOf(e);
  const causes = flow ? flow.causes : causesOf(e).map((c) => (debug ? c : withoutStack(c)));
  const stack = flow ? flow.error.stack : debug ? own.stack : undefined;
  return {
    ...(typeof runId === "string" ? { runId } : {}),
    status: "failed",
    error: {
      code: e.code,
      message: e.message,
      hint: e.hint ?? null,
      name: flow ? flow.error.name : e.name,
      ...(stack ? { stack } : {}),
      cause: causes,
      ...issuesOf(e),
    },
  };
}

/** The stacks --debug shows: a failed flow's own stack and its causes', else flowpack's. */
function debugStacks(e: FlowpackError): string {
  const flow = flowStoryOf(e);
  const [first, causes] = flow ? [flow.error, flow.causes] : [storyOf(e), causesOf(e)];
  const blocks = [first.stack ?? headline(first), ...causes.map((c) => `caused by: ${c.stack ?? headline(c)}`)];
  return blocks.map((b) => `${b}\n`).join("");
}

/** A FlowRunError's story (from any copy of flowpack: checked by shape). */
function flowStoryOf(e: FlowpackError): { error: ErrorStory; causes: ErrorStory[] } | undefined {
  const { flowError, causes } = e as { flowError?: ErrorStory; causes?: ErrorStory[] };
  if (!flowError || typeof flowError.name !== "string") return undefined;
  return { error: flowError, causes: Array.isArray(causes) ? causes : [] };
}

function withoutStack(story: ErrorStory): ErrorStory {
  const { stack: _stack, ...rest } = story;
  return rest;
}

function issuesOf(error: FlowpackError): { issues?: ParameterIssue[] } {
  const issues = (error as { issues?: unknown }).issues;
  return Array.isArray(issues) ? { issues: issues as ParameterIssue[] } : {};
}
