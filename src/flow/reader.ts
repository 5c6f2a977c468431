import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type { FlowEnv } from "../_internal/env-vars.js";
import { MODULE_TREE, PACKAGE_ROOT } from "../_internal/package-root.js";
import {
  FileSystemFaultError,
  FileSystemPathError,
  FlowpackError,
  InvalidFlowError,
  InvalidFlowNameError,
  MissingFlowError,
  ScriptError,
  UnspecifiedFlowError,
  type ExitCode,
  type FlowpackErrorOptions,
} from "../errors.js";
import type { JsonSchema } from "./schema.js";
import { VENDOR_NOT_PRELOADED, type ReaderAnswer, type ReaderNotice, type ReaderRequest, type SerializedError } from "./reader-protocol.js";
import type { CachedVendorFiles } from "../bundle/vendor.js";
import { entryLabel, type LoadableBundle } from "../bundle/temporary.js";
import { FLOW_READER_MODULE, takeReaderThread } from "./reader-thread.js";

/** What packaging needs of a flow: its name and its parameters' JSON Schema. */
export interface FlowInfo {
  readonly name: string;
  parameterSchema(): JsonSchema;
}


/** The answer of a worker that cannot load this flow in a thread (it must be read in the main thread). */
export class ReadInThreadUnsupported extends Error {}

/**
 * Reads a flow's name and parameter schema from its bundle in a worker thread, so that a one-shot
 * `package` can load the flow's packages while esbuild is still bundling its code: the thread starts
 * with the bundling, loads the vendor module the bundle will most likely import (the last one, see
 * `preload`), then the bundle once it exists. Loading a flow is the longest part of packaging one
 * with many packages (the service bench workload: ~0.6 s of ~1 s), and it no longer waits for the
 * CLI's own modules and esbuild, nor they for it.
 *
 * The flow's module runs in the thread with the environment it would have had in the main thread
 * (this process's, plus the placeholders given for packaging, set in the thread's own copy). What a thread cannot do (change the
 * working folder, load a native addon that is not thread-aware) is answered with
 * ReadInThreadUnsupported, and the caller reads the flow in the main thread instead.
 */
export class FlowReader {
  private readonly worker: Worker;
  /** How the thread ended (it exited, or threw outside a read), once it has. */
  private readonly ended: Promise<ThreadEnd>;
  private end: ThreadEnd | undefined;
  /** The vendor modules the thread has (asked to preload, or loaded by a read): a bundle importing one goes without its bytes. */
  private readonly vendors = new Set<string>();
  /** Whether a read left something of the flow's running in the thread, or failed (its packages may be half set up). */
  private spoilt = false;
  private elsewhere = false;
  /** Whether the thread has said, since the last read, that nothing of it is still going on (or has). */
  private settled = true;
  private closing = false;
  /** The read waiting for its answer (one at a time). */
  private pending: ((answer: ReaderAnswer) => void) | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on("message", (message: ReaderAnswer | ReaderNotice) => {
      if (message.kind === "settled") {
        this.settled = true;
        if (message.leftRunning.length > 0) {
          this.spoilt = true;
          if (!this.pending) this.close(); // what the flow left going on stops now, not at the next build
        }
        return;
      }
      const answer = this.pending;
      this.pending = undefined;
      answer?.(message);
    });
    this.ended = new Promise((resolve) => {
      worker.once("error", (error) => resolve({ kind: "thrown", error }));
      worker.once("exit", (code) => resolve({ kind: "exit", code }));
    });
    void this.ended.then((end) => (this.end = end));
  }

  /**
   * A reader with its thread starting (or started: see prestartReaderThread), or undefined where there
   * is none to start (running from sources).
   */
  static start(): FlowReader | undefined {
    const worker = takeReaderThread();
    return worker && new FlowReader(worker);
  }

  /**
   * Whether the thread can read again (a warm process keeps one per entry, as `--watch` keeps its
   * packages loaded): it is running, it has said that the last read left nothing of the flow's going
   * on in it (a timer of its module would go on in the next build), no read failed in it, and none
   * had to be done in the main thread.
   */
  get reusable(): boolean {
    return !this.broken && this.settled;
  }

  /** Whether the thread is known not to be reusable (see reusable), as opposed to not having said yet that it is. */
  get broken(): boolean {
    return this.end !== undefined || this.spoilt || this.elsewhere;
  }

  /** Whether a read had to be done in the main thread instead (see ReadInThreadUnsupported): the flow's module ran there. */
  get readInMainThread(): boolean {
    return this.elsewhere;
  }

  /** The caller read the flow in the main thread instead (see ReadInThreadUnsupported). */
  readElsewhere(): void {
    this.elsewhere = true;
  }

  /**
   * Loads the cached vendor module `vendor` ahead of the bundle, from its files (the thread checks
   * them against the digests): a bundle importing the same one is then sent without its bytes.
   */
  preload(projectRoot: string, vendor: CachedVendorFiles): void {
    if (this.vendors.has(vendor.digest)) return;
    this.vendors.add(vendor.digest);
    this.post({ kind: "preload", projectRoot, vendor });
  }

  /** The flow `flowName` (or the only one) of the bundle; errors as loading it in this thread would raise them. */
  async read(bundle: LoadableBundle, flowName: string | undefined, where: string, env: FlowEnv = {}): Promise<FlowInfo> {
    // One read at a time; the answer is the thread's next message, unless it ends first.
    const next = new Promise<ReaderAnswer>((resolve) => (this.pending = resolve));
    this.settled = false;
    this.post({
      kind: "read",
      bundle: {
        code: bundle.code,
        projectRoot: bundle.projectRoot,
        ...(bundle.map ? { map: bundle.map } : {}),
        ...(bundle.entry !== undefined ? { entry: bundle.entry } : {}),
        ...(bundle.assetsRoot !== undefined ? { assetsRoot: bundle.assetsRoot } : {}),
        ...(bundle.vendor
          ? { vendor: this.vendors.has(bundle.vendor.digest) ? { digest: bundle.vendor.digest } : { code: bundle.vendor.code, map: bundle.vendor.map, digest: bundle.vendor.digest } }
          : {}),
      },
      flowName,
      where,
      env,
    });
    // Named as the user's file is named in the errors of loading it (never the temporary bundle).
    const label = bundle.entry === undefined ? where : entryLabel(bundle.projectRoot, bundle.entry);
    const answer = await Promise.race([next, this.ended]);
    if (answer.kind === "thrown") {
      // Thrown in the thread outside the read (a timer of the flow's module, say), before the answer.
      throw new ScriptError(`${label} failed while loading: ${(answer.error as Error).message}`, { cause: answer.error });
    }
    // A failed read may have left a vendored package half set up (esbuild's wrappers do not run a
    // package's top level again after it threw): the next read starts in a fresh thread.
    if (answer.kind === "error") this.spoilt = true;
    if (answer.kind === "flow" && bundle.vendor) this.vendors.add(bundle.vendor.digest);
    if (answer.kind === "flow") {
      const schema = answer.parameterSchema;
      return { name: answer.name, parameterSchema: () => structuredClone(schema) };
    }
    if (answer.kind === "exit") {
      throw new ScriptError(`${label} stopped flowpack's loading thread while loading (exit code ${answer.code})`, {
        hint: "a flow's module must not call process.exit() when it is imported",
      });
    }
    if (threadUnsupported(answer.error)) throw new ReadInThreadUnsupported(answer.error.message);
    throw rebuildError(answer.error);
  }

  /**
   * Ends the thread: it removes its temporary folder and stops (whatever the flow's module left
   * running in it stops with it); one that has not within a few seconds (a module busy in a loop)
   * is terminated. In the background: removing the folder and tearing down a thread that loaded a
   * flow's packages take a while (~40 ms and ~30 ms for the service bench workload), which
   * packaging need not wait for; the process exits once it is done.
   */
  close(): void {
    if (this.closing) return; // once (a kept reader may be closed by itself and by its keeper)
    this.closing = true;
    this.post({ kind: "close" });
    const stop = setTimeout(() => void this.worker.terminate().catch(() => undefined), CLOSE_GRACE_MS);
    stop.unref();
    this.worker.once("exit", () => clearTimeout(stop));
  }

  private post(request: ReaderRequest): void {
    this.worker.postMessage(request);
  }
}

/** How a reader's thread ended: it exited (a flow's module may call process.exit()), or threw outside a read. */
type ThreadEnd = { kind: "exit"; code: number } | { kind: "thrown"; error: unknown };

/** How long a closing thread has to remove its folder and stop before it is terminated. */
const CLOSE_GRACE_MS = 3_000;

/** Writes dist/flow-reader.mjs, the worker's module, from the built sources (run by `npm run build`). */
export async function writePrebuiltFlowReader(): Promise<string> {
  const { esbuildApi, OWN_BUNDLE_OPTIONS } = await import("../bundle/esbuild.js");
  await esbuildApi.build({
    ...OWN_BUNDLE_OPTIONS,
    entryPoints: [join(MODULE_TREE, "flow", "reader-worker.js")],
    absWorkingDir: PACKAGE_ROOT,
    logLevel: "warning",
    outfile: FLOW_READER_MODULE,
  });
  return FLOW_READER_MODULE;
}

/** What a thread cannot do that the main thread can (or a vendor module it could not preload): then the flow is read there. */
function threadUnsupported(error: SerializedError): boolean {
  for (let e: SerializedError | undefined = error; e; e = e.cause) {
    if (e.code === VENDOR_NOT_PRELOADED || e.code === "ERR_WORKER_UNSUPPORTED_OPERATION" || e.code === "ERR_DLOPEN_FAILED" || /did not self-register/.test(e.message)) return true;
  }
  return false;
}

/** The errors reading a flow raises on purpose, by code: rebuilt as the same classes. */
const READ_ERRORS: Record<string, new (message: string, options: FlowpackErrorOptions) => FlowpackError> = {
  SCRIPT_FAILED: ScriptError,
  FLOW_MISSING: MissingFlowError,
  FLOW_UNSPECIFIED: UnspecifiedFlowError,
  FLOW_INVALID: InvalidFlowError,
  FLOW_NAME_INVALID: InvalidFlowNameError,
};

/** A flowpack error of another code (from the flow's own copy of the flow API, say): code, exit code and hint kept. */
class ForwardedError extends FlowpackError {
  override readonly code: string;
  override readonly exitCode: ExitCode;

  constructor(error: SerializedError, cause: Error | undefined) {
    super(error.message, { hint: error.hint, cause });
    this.code = error.code!;
    this.exitCode = error.exitCode as ExitCode;
    this.name = error.name;
  }
}

/** The error the worker reported, as this thread would have raised it. */
function rebuildError(error: SerializedError): Error {
  const cause = error.cause && plainError(error.cause);
  const options = { hint: error.hint, cause };
  const Known = error.code === undefined ? undefined : READ_ERRORS[error.code];
  let rebuilt: Error;
  if (Known) rebuilt = new Known(error.message, options);
  else if (error.code?.startsWith("FS_") && error.path !== undefined) {
    const FsError = error.exitCode === 3 ? FileSystemFaultError : FileSystemPathError;
    rebuilt = new FsError(error.message, { ...options, code: error.code, path: error.path, ...(error.errno ? { errno: error.errno } : {}) });
  } else if (error.code !== undefined && error.exitCode !== undefined) rebuilt = new ForwardedError(error, cause);
  else return plainError(error);
  rebuilt.stack = error.stack;
  return rebuilt;
}

/** An Error with the name, message, stack, code and causes of one from the thread. */
function plainError(error: SerializedError): Error {
  const plain = new Error(error.message, error.cause ? { cause: plainError(error.cause) } : undefined);
  plain.name = error.name;
  plain.stack = error.stack;
  if (error.code !== undefined) Object.assign(plain, { code: error.code });
  return plain;
}
