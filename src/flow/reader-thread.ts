import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as WorkerThreads from "node:worker_threads";
import { MODULE_TREE, PACKAGE_ROOT } from "../_internal/package-root.js";

/** Where `npm run build` leaves the reader thread's module (not used when running from src/). */
export const FLOW_READER_FILE = "flow-reader.mjs";
export const FLOW_READER_MODULE = join(PACKAGE_ROOT, "dist", FLOW_READER_FILE);

/**
 * A thread started ahead of time and not yet taken, kept on the global object: the CLI's entry
 * starts it, and the package command's bundle (a copy of this module of its own) takes it.
 */
const PRESTARTED = Symbol.for("flowpack.flowReader.prestarted");
const slot = globalThis as { [PRESTARTED]?: { worker: WorkerThreads.Worker; sourceMaps: boolean } | undefined };

/** Whether this process maps stacks through source maps now (a reader thread does as its process did when it started). */
export const sourceMapsNow = (): boolean => (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;

/**
 * Starts a reader's thread now, for the next takeReaderThread() (the CLI, as soon as it knows the
 * command is a one-shot `package`: the thread boots while the command's modules load). Until taken,
 * it does not keep the process alive.
 */
export function prestartReaderThread(): void {
  if (!slot[PRESTARTED]) {
    const worker = spawnReaderThread();
    slot[PRESTARTED] = worker && { worker, sourceMaps: sourceMapsNow() };
  }
  slot[PRESTARTED]?.worker.unref();
}

/**
 * The thread started ahead of time (if it maps stacks as this process now does: a warm process's
 * builds may differ), else a new one; undefined where there is none to start (running from sources).
 */
export function takeReaderThread(): WorkerThreads.Worker | undefined {
  const prestarted = slot[PRESTARTED];
  delete slot[PRESTARTED];
  let worker = prestarted?.worker;
  if (prestarted && prestarted.sourceMaps !== sourceMapsNow()) {
    void prestarted.worker.terminate().catch(() => undefined);
    worker = undefined;
  }
  worker ??= spawnReaderThread();
  worker?.ref();
  return worker;
}

function spawnReaderThread(): WorkerThreads.Worker | undefined {
  if (MODULE_TREE !== join(PACKAGE_ROOT, "dist") || !existsSync(FLOW_READER_MODULE)) return undefined;
  try {
    // This process's environment as it is now (the placeholders come with the read); source maps if this process has them on.
    const sourceMaps = sourceMapsNow();
    // node:worker_threads is loaded here, not imported: the CLI's entry holds this module, and every
    // other command would load Node's worker internals for nothing (~4 ms of each start).
    const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof WorkerThreads;
    return new Worker(FLOW_READER_MODULE, { workerData: { sourceMaps } });
  } catch {
    return undefined; // no thread to be had: the main thread reads the flow
  }
}
