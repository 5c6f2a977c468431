import { BatchFailedError, InterruptedError, UsageError } from "../errors.js";
import type { PackageManifest } from "../manifest/registry.js";
import { runEach, type EachOptions, type EachOutcome, type EachProgress } from "../run/each.js";
import { readParamSets } from "../run/param-sets.js";
import { createProgressRenderer } from "./progress.js";

export interface EachFlags {
  each?: string;
  concurrency?: string;
  param: string[];
  params?: string;
}

/** Refuses flags that do not go with --each (or need it), before anything is read. */
export function checkEachFlags(flags: EachFlags): void {
  if (flags.each === undefined) {
    if (flags.concurrency !== undefined) throw new UsageError("--concurrency applies to --each only");
    return;
  }
  if (flags.param.length > 0 || flags.params !== undefined) {
    throw new UsageError("--each takes every run's parameters from its file: drop --param/--params (or put them in each line)");
  }
  if (flags.concurrency !== undefined && !/^[1-9][0-9]*$/.test(flags.concurrency)) {
    throw new UsageError(`--concurrency ${JSON.stringify(flags.concurrency)}: expected a whole number of 1 or more`);
  }
}

/**
 * `flowpack run <manifest> --each <file|->`: every line validated, then one run per line. stdout gets
 * one JSON line per input line, in input order, each as soon as the lines before it are out; stderr
 * gets each run's logs prefixed `[#i]` and a progress line. Ends by throwing when not every run
 * succeeded (the exit status: 130/143 > 3 > 2 > 1).
 */
export async function runEachCommand(manifest: PackageManifest, flags: EachFlags, options: Omit<EachOptions, "onResult" | "onProgress" | "onLog" | "concurrency">): Promise<void> {
  const sets = await readParamSets(flags.each!, manifest.flowName, manifest.flowParameterSchema, options.source);
  const write = orderedWriter((line) => process.stdout.write(line + "\n"));
  const progress = createProgressRenderer(process.stderr);
  let last: EachProgress | undefined;
  const showProgress = () => last && progress({ phase: "each", message: `${last.done}/${last.total} done, ${last.failed} failed, ${last.running} running` });
  const tty = Boolean(process.stderr.isTTY);
  // On a terminal the live line is cleared for a log line and drawn again below it.
  const logs = prefixedLogs((text) => {
    progress.done();
    process.stderr.write(text);
    if (tty) showProgress();
  });
  const report = await runEach(manifest, sets, {
    ...options,
    ...(flags.concurrency === undefined ? {} : { concurrency: Number(flags.concurrency) }),
    onLog: logs.write,
    onResult: (outcome) => {
      logs.flush(outcome.index);
      write(outcome.index, JSON.stringify(resultLine(outcome)));
    },
    onProgress: (p) => {
      const completed = last === undefined ? p.done > 0 : p.done !== last.done;
      last = p;
      // Off a terminal, one line per completion; on one, the live line follows every change.
      if (completed || tty) showProgress();
    },
  });
  progress.done();
  const failed = report.outcomes.filter((o) => !o.ok);
  if (report.exitCode === 0) return;
  const lines = failed.filter((o) => !o.ok && !o.notRun).map((o) => (o.line === undefined ? `#${o.index}` : `line ${o.line}`));
  const notRun = failed.filter((o) => !o.ok && o.notRun).length;
  const summary = `${failed.length} of ${report.outcomes.length} runs did not succeed${lines.length ? ` (${lines.slice(0, 10).join(", ")}${lines.length > 10 ? ", …" : ""})` : ""}${notRun ? `, ${notRun} not run` : ""}`;
  const error =
    report.exitCode === 130 || report.exitCode === 143
      ? new InterruptedError(`interrupted: ${summary}`, { signal: report.exitCode === 143 ? "SIGTERM" : "SIGINT" })
      : new BatchFailedError(summary, { exitCode: report.exitCode as 1 | 2 | 3, hint: "each run's error is in its result line on stdout" });
  // stdout holds one line per input line: with --json too, the summary goes to stderr only.
  throw Object.assign(error, { resultLinesWritten: true });
}

/** A result line as `--each` prints it. */
export function resultLine(outcome: EachOutcome): Record<string, unknown> {
  const where = { ...(outcome.node === undefined ? {} : { node: outcome.node }), durationMs: outcome.durationMs };
  const head = { index: outcome.index, ...(outcome.line === undefined ? {} : { line: outcome.line }) };
  if (outcome.ok) return { ...head, ok: true, result: outcome.result, runId: outcome.runId, ...where };
  return { ...head, ok: false, error: { code: outcome.error.code, message: outcome.error.message }, ...where };
}

/** Writes item i once items 0..i-1 are written: completion order in, input order out, nothing held longer than needed. */
export function orderedWriter(emit: (text: string) => void): (index: number, text: string) => void {
  const waiting = new Map<number, string>();
  let next = 0;
  return (index, text) => {
    waiting.set(index, text);
    for (let t = waiting.get(next); t !== undefined; t = waiting.get(next)) {
      waiting.delete(next++);
      emit(t);
    }
  };
}

/** Each run's log lines prefixed `[#i] `; a partial last line waits for its end (or the run's). */
export function prefixedLogs(emit: (text: string) => void): { write(index: number, chunk: Buffer): void; flush(index: number): void } {
  const partial = new Map<number, string>();
  return {
    write(index, chunk) {
      const text = (partial.get(index) ?? "") + chunk.toString("utf8");
      const end = text.lastIndexOf("\n");
      if (end < 0) {
        partial.set(index, text);
        return;
      }
      partial.set(index, text.slice(end + 1));
      emit(text.slice(0, end).split("\n").map((l) => `[#${index}] ${l}\n`).join(""));
    },
    flush(index) {
      const rest = partial.get(index);
      partial.delete(index);
      if (rest) emit(`[#${index}] ${rest}\n`);
    },
  };
}
