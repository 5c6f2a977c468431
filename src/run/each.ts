import { setMaxListeners } from "node:events";
import type { FlowEnv } from "../_internal/env-vars.js";
import { stopSignalOf } from "../_internal/stop.js";
import { InterruptedError, ParameterValidationError, RunTimeoutError, UsageError, isFlowpackError, type FlowpackError } from "../errors.js";
import type { PackageManifest } from "../manifest/registry.js";
import { assertNoRunnerVariables } from "../manifest/runner-env.js";
import { BATCH_TARGETS, type BatchTarget, type PreparedBatch } from "./batch-target.js";
import { runTarget } from "./manifest.js";
import { paramSetIssues } from "./param-sets.js";
import { assertSwarmOnlyOptions, type SwarmOnlyOptions } from "./swarm-options.js";
import type { Parameters } from "./parameters.js";
import { assertTimeoutMs, withRunTimeout } from "./timeout.js";

/** One parameter set of a batch; `line` (as readParamSets gives it) names it in errors and results. */
export interface EachInput {
  params: Parameters;
  line?: number;
}

/** What runEach reports per run, in input order. */
export type EachOutcome = EachSuccess | EachFailure;

interface EachOutcomeBase {
  /** 0-based position among the sets. */
  index: number;
  /** The input line, when the set came from one. */
  line?: number;
  /** Where it ran (host, daemon, cluster node); absent for a set that was not run. */
  node?: string;
  durationMs: number;
}

export interface EachSuccess extends EachOutcomeBase {
  ok: true;
  runId: string;
  result: unknown;
}

export interface EachFailure extends EachOutcomeBase {
  ok: false;
  /** The run's exit status as `flowpack run` would give it: 1 flow failed, 2 bad input, 3 infrastructure, 130/143 interrupted. */
  exitCode: number;
  /** True for a set that never started (an infrastructure failure or a stop came first). */
  notRun: boolean;
  error: { code: string; message: string; hint?: string };
}

export interface EachProgress {
  total: number;
  done: number;
  failed: number;
  running: number;
}

export interface EachOptions extends SwarmOnlyOptions {
  /** Where: a target of BATCH_TARGETS, or `auto` (as `flowpack run --on`). */
  on?: string;
  /** Runs at once; default: the target's (local 1, docker 4). */
  concurrency?: number;
  /** The flow's environment variables, for every run; never logged. */
  env?: FlowEnv;
  /** This side's environment (daemon, credentials). Default: process.env. */
  hostEnv?: NodeJS.ProcessEnv;
  /** Aborting it (reason "SIGINT"/"SIGTERM") stops every running run and starts no more. */
  signal?: AbortSignal;
  /**
   * Each run's own deadline (`--timeout` with `--each`), from its start: a run past it is stopped
   * and what it started removed, as a single run's, and its line fails with RunTimeoutError (exit 3).
   * Unlike other infrastructure failures it does not stop the batch: a slow parameter set is not a
   * broken engine.
   */
  timeoutMs?: number;
  network?: string;
  allowUnpinned?: boolean;
  /** Names the manifest in errors. */
  source?: string;
  /** Each outcome as soon as its run ends (completion order; `index` says where it belongs). */
  onResult?: (outcome: EachOutcome) => void;
  onProgress?: (progress: EachProgress) => void;
  /** A run's logs, by its index (targets that run in this process write to its stderr instead). */
  onLog?: (index: number, chunk: Buffer) => void;
  /** Run on this target instead of the table's entry for `on` (another engine; fault injection in tests). */
  target?: BatchTarget;
}

export interface EachReport {
  /** One per input set, in input order. */
  outcomes: EachOutcome[];
  /** As the CLI exits: 130/143 stopped > 3 infrastructure > 2 bad input > 1 some flow failed > 0 all succeeded. */
  exitCode: number;
}

/**
 * Fan-out: runs the manifest's flow once per parameter set, at most `concurrency` at once, on one
 * target. Every set is validated against the flow's schema before anything starts (all bad sets
 * named, ParameterValidationError, exit 2); the target is prepared once (a docker image pulled
 * once). A failed flow is reported and the others go on, as is a run past `timeoutMs`; any other
 * infrastructure failure (exit 3) starts no new run (those are reported as not run); an aborted
 * `signal` stops every running run (a container is stopped and removed) and starts no more. Errors
 * before any run (bad sets, a target that cannot run this manifest, a daemon that cannot be
 * reached) are thrown.
 */
export async function runEach(manifest: PackageManifest, sets: readonly EachInput[], options: EachOptions = {}): Promise<EachReport> {
  const source = options.source ?? "manifest";
  const env = options.env ?? {};
  const { name, target } = pickTarget(manifest, options);
  assertSwarmOnlyOptions(name, options);
  const concurrency = options.concurrency ?? target.defaultConcurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency ${concurrency}: expected a whole number of 1 or more`);
  if (name === "local" && concurrency > 1 && Object.keys(env).length > 0) {
    // Runs in this process share its environment: with --env they go one at a time (each sets it
    // in place), so more at once would only queue them, and a --timeout would count the queueing.
    throw new UsageError("--each --on local with --env runs one set at a time: --concurrency must be 1 there", {
      hint: "use --on docker (each run its own container and environment) to run more at once",
    });
  }
  if (sets.length === 0) throw new UsageError("no parameter sets to run");
  if (options.timeoutMs !== undefined) assertTimeoutMs(options.timeoutMs);
  assertNoRunnerVariables(env);
  const labelled = sets.map((set, i) => ({ label: set.line === undefined ? `set ${i}` : `line ${set.line}`, params: set.params }));
  const issues = await paramSetIssues(manifest.flowName, manifest.flowParameterSchema, labelled, source);
  if (issues.length > 0) throw new ParameterValidationError(manifest.flowName, issues, { hint: "fix the parameter sets named; nothing was run" });
  if (options.signal?.aborted) throw interrupted(options.signal, "before the batch started; nothing was run");

  const prepared = await target.prepare(manifest, {
    env,
    hostEnv: options.hostEnv ?? process.env,
    signal: options.signal,
    network: options.network,
    allowUnpinned: options.allowUnpinned,
    source,
    constraints: options.constraints,
    cpus: options.cpus,
    memory: options.memory,
  });
  try {
    return await runAll(prepared, sets, concurrency, options);
  } finally {
    await prepared.close?.();
  }
}

/** The exit status of a batch: 130/143 > 3 > 2 > 1 > 0. */
export function eachExitCode(outcomes: readonly EachOutcome[]): number {
  const rank = (code: number) => (code === 130 || code === 143 ? 5 : code === 3 ? 4 : code === 2 ? 3 : code === 1 ? 2 : code === 0 ? 1 : 4);
  let worst = 0;
  for (const outcome of outcomes) if (!outcome.ok && rank(outcome.exitCode) > rank(worst)) worst = outcome.exitCode;
  return worst;
}

function pickTarget(manifest: PackageManifest, options: EachOptions): { name: string; target: BatchTarget } {
  if (options.target) return { name: options.on ?? "custom", target: options.target };
  const name = runTarget(manifest, options.on ?? "auto");
  const target = BATCH_TARGETS[name];
  if (!target) throw new UsageError(`--each does not run on ${name} yet; it runs on ${Object.keys(BATCH_TARGETS).join(", ")}`);
  return { name, target };
}

async function runAll(prepared: PreparedBatch, sets: readonly EachInput[], concurrency: number, options: EachOptions): Promise<EachReport> {
  const outcomes: (EachOutcome | undefined)[] = new Array(sets.length).fill(undefined);
  const progress: EachProgress = { total: sets.length, done: 0, failed: 0, running: 0 };
  let next = 0;
  let stoppedBy: { code: number; reason: string } | undefined;
  const signal = options.signal;
  // Every running run listens to the one signal (a few listeners each): no leak warning for a wide batch.
  if (signal) setMaxListeners(Math.max(10, concurrency * 4 + 4), signal);
  const onAbort = () => (stoppedBy ??= { code: stopSignalOf(signal) === "SIGTERM" ? 143 : 130, reason: `stopped by ${stopSignalOf(signal) ?? "SIGINT"}` });
  signal?.addEventListener("abort", onAbort, { once: true });
  // A stop that came while the target was being prepared: start nothing (every set NOT_RUN).
  if (signal?.aborted) onAbort();

  const finish = (outcome: EachOutcome) => {
    outcomes[outcome.index] = outcome;
    progress.done++;
    if (!outcome.ok) progress.failed++;
    options.onResult?.(outcome);
    options.onProgress?.({ ...progress });
  };

  const worker = async () => {
    while (!stoppedBy && next < sets.length) {
      const index = next++;
      const set = sets[index]!;
      const line = set.line === undefined ? {} : { line: set.line };
      progress.running++;
      options.onProgress?.({ ...progress });
      const started = performance.now();
      const durationMs = () => Math.round(performance.now() - started);
      try {
        const onLog = options.onLog ? (chunk: Buffer) => options.onLog!(index, chunk) : undefined;
        const record = await withRunTimeout(options.timeoutMs, signal, (runSignal) => prepared.run(set.params, { signal: runSignal, onLog }));
        progress.running--;
        finish({ index, ...line, ok: true, runId: record.runId, result: record.result, node: record.node ?? prepared.node, durationMs: durationMs() });
      } catch (error) {
        progress.running--;
        const failure = failureOf(error, signal);
        // A run past its --timeout fails alone; any other infrastructure failure starts no new run.
        if (failure.exitCode === 3 && !(error instanceof RunTimeoutError)) stoppedBy ??= { code: 3, reason: `an earlier run failed: ${failure.error.message}` };
        const node = (error as { node?: unknown } | null)?.node;
        finish({ index, ...line, ok: false, notRun: false, node: typeof node === "string" ? node : prepared.node, durationMs: durationMs(), ...failure });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, sets.length) }, worker));
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  // What never started: reported as not run, with why.
  for (let index = 0; index < sets.length; index++) {
    if (outcomes[index]) continue;
    const set = sets[index]!;
    const why = stoppedBy ?? { code: 3, reason: "not started" };
    finish({
      index,
      ...(set.line === undefined ? {} : { line: set.line }),
      ok: false,
      notRun: true,
      exitCode: why.code,
      durationMs: 0,
      error: { code: "NOT_RUN", message: `not run: ${why.reason}` },
    });
  }
  const all = outcomes as EachOutcome[];
  return { outcomes: all, exitCode: eachExitCode(all) };
}

function failureOf(error: unknown, signal: AbortSignal | undefined): Pick<EachFailure, "exitCode" | "error"> {
  if (isFlowpackError(error)) {
    const e = error as FlowpackError;
    return { exitCode: e.exitCode, error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
  }
  if (signal?.aborted) return { exitCode: stopSignalOf(signal) === "SIGTERM" ? 143 : 130, error: { code: "INTERRUPTED", message: "interrupted" } };
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: 3, error: { code: "INTERNAL", message: `internal error: ${message}` } };
}

function interrupted(signal: AbortSignal, what: string): InterruptedError {
  return new InterruptedError(`interrupted ${what}`, { signal: stopSignalOf(signal) });
}
