import { isFlowpackError, type FlowpackError } from "../errors.js";

/** JSON as flowpack prints it: two-space indent, trailing newline. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/**
 * Prints an error as one line (plus a hint line) on stderr (and as `{ error }` JSON on stdout with
 * `json`) and returns the exit code. Stack traces only with `debug`, or for errors that are not
 * flowpack's own (those are bugs: say so). Shared by the CLI and the in-image runner.
 */
export function reportError(error: unknown, debug: boolean, json: boolean): number {
  if (isFlowpackError(error)) {
    const e = error as FlowpackError;
    if (json) {
      process.stdout.write(toJson({ error: { code: e.code, message: e.message, hint: e.hint ?? null, ...issuesOf(e) } }));
    }
    process.stderr.write(`flowpack: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`flowpack: internal error: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write("  hint: rerun with --debug for details, and please report it\n");
  return 3;
}

function issuesOf(error: FlowpackError): Record<string, unknown> {
  const issues = (error as { issues?: unknown }).issues;
  return Array.isArray(issues) ? { issues } : {};
}
