/**
 * The in-image runner's inputs and outputs beyond argv and stdout, for runs a cluster starts:
 * which parameter set an Indexed Job's pod runs, and the result file Kubernetes shows as the
 * container's termination message. Kept small: it is bundled into every image's runner.
 */
import { writeFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import { RUNNER_ENV } from "../manifest/runner-env.js";

/** Set by Kubernetes in each pod of an Indexed Job: 0 … completions-1. */
export const COMPLETION_INDEX = "JOB_COMPLETION_INDEX";

/** Kubernetes keeps at most this many bytes of a container's termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

export interface RunnerInputs {
  /** The parameters as FLOWPACK_PARAMS would give them (JSON), if any. */
  params?: string;
  /** The run id to use, if one was given (FLOWPACK_RUN_ID, `-<index>` appended for a parameter set). */
  runId?: string;
}

/**
 * FLOWPACK_PARAMS, or, with FLOWPACK_PARAM_SETS (a JSON array), the set at JOB_COMPLETION_INDEX;
 * giving both, or a missing or out-of-range index, is a UsageError (exit 2).
 */
export function runnerInputs(env: NodeJS.ProcessEnv): RunnerInputs {
  const runId = env[RUNNER_ENV.runId] || undefined;
  const setsJson = env[RUNNER_ENV.paramSets];
  if (!setsJson) return { params: env[RUNNER_ENV.params], runId };
  if (env[RUNNER_ENV.params]) throw new UsageError(`set ${RUNNER_ENV.params} or ${RUNNER_ENV.paramSets}, not both`);
  let sets: unknown;
  try {
    sets = JSON.parse(setsJson);
  } catch (error) {
    throw new UsageError(`${RUNNER_ENV.paramSets}: not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(sets)) throw new UsageError(`${RUNNER_ENV.paramSets}: expected a JSON array of parameter objects`);
  const raw = env[COMPLETION_INDEX];
  const index = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(index) || index >= sets.length) {
    throw new UsageError(`${RUNNER_ENV.paramSets} holds ${sets.length} sets, and ${COMPLETION_INDEX} is ${raw === undefined ? "not set" : JSON.stringify(raw)}`, {
      hint: `run it as an Indexed Job (completionMode: Indexed, completions: ${sets.length}), or set ${COMPLETION_INDEX} to 0…${sets.length - 1}`,
    });
  }
  return { params: JSON.stringify(sets[index]), runId: runId === undefined ? undefined : `${runId}-${index}` };
}

/**
 * `record` as compact JSON of at most `limit` bytes, still valid JSON: whole when it fits; else a
 * success keeps its status, ids and duration without the result, and a failure its code, name and
 * a shortened message, both marked `"truncated": true`.
 */
export function terminationMessage(record: unknown, limit = TERMINATION_MESSAGE_LIMIT): string {
  const fits = (text: string) => Buffer.byteLength(text) <= limit;
  const whole = JSON.stringify(record);
  if (fits(whole)) return whole;
  const r = (record ?? {}) as Record<string, unknown>;
  const error = (r.error ?? {}) as Record<string, unknown>;
  const pick = (from: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]));
  const shorten = (keep: number): unknown =>
    r.status === "failed"
      ? { ...pick(r, ["runId", "status"]), error: { ...pick(error, ["code", "name"]), message: String(error.message ?? "").slice(0, keep) }, truncated: true }
      : { ...pick(r, ["flowName", "runId", "status", "durationMs"]), truncated: true };
  for (let keep = limit; keep > 0; keep = Math.floor(keep / 2)) {
    const text = JSON.stringify(shorten(keep));
    if (fits(text)) return text;
  }
  const last = JSON.stringify({ status: typeof r.status === "string" ? r.status.slice(0, 32) : "unknown", truncated: true });
  return fits(last) ? last : "{}";
}

/**
 * Writes the run's record to FLOWPACK_RESULT_FILE when it is set (a Kubernetes Job sets
 * /dev/termination-log), cut to the termination message limit. A file that cannot be written is
 * a warning on stderr: the record is on stdout anyway.
 */
export function writeResultFile(env: NodeJS.ProcessEnv, record: unknown): void {
  const file = env[RUNNER_ENV.resultFile];
  if (!file) return;
  try {
    writeFileSync(file, terminationMessage(record));
  } catch (error) {
    process.stderr.write(`flowpack: warning: cannot write the result to ${RUNNER_ENV.resultFile}=${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
  }
}
