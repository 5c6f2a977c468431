/**
 * Every error flowpack raises on purpose is a FlowpackError with a stable `code`.
 * The CLI maps `exitCode` to the process exit status and prints `message` (+ `hint`) on one line.
 *
 * Exit codes: 1 the flow failed · 2 bad input (usage, parameters, manifest, config) ·
 * 3 infrastructure (daemon/registry unreachable, build or push failed) · 130 interrupted (Ctrl-C,
 * SIGINT) · 143 terminated (SIGTERM).
 */
export type ExitCode = 1 | 2 | 3 | 130 | 143;

export interface FlowpackErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class FlowpackError extends Error {
  readonly code: string = "FLOWPACK_ERROR";
  readonly exitCode: ExitCode = 2;
  readonly hint: string | undefined;

  constructor(message: string, options: FlowpackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Structural check: works across copies of flowpack (a flow bundle carries its own). */
export function isFlowpackError(value: unknown): value is FlowpackError {
  return (
    value instanceof Error &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { exitCode?: unknown }).exitCode === "number"
  );
}

// ── bad input (exit 2) ──────────────────────────────────────────────────────

export class UsageError extends FlowpackError {
  override readonly code = "USAGE";
}

export class ConfigError extends FlowpackError {
  override readonly code = "CONFIG_INVALID";
}

export class InvalidFlowNameError extends FlowpackError {
  override readonly code = "FLOW_NAME_INVALID";
}

export class InvalidFlowError extends FlowpackError {
  override readonly code = "FLOW_INVALID";
}

export interface ParameterIssue {
  /** Dotted path into the parameters, e.g. `items.0.id`; empty for the root. */
  path: string;
  message: string;
}

export class ParameterValidationError extends FlowpackError {
  override readonly code = "PARAMETERS_INVALID";
  readonly issues: ParameterIssue[];

  constructor(flowName: string, issues: ParameterIssue[], options: FlowpackErrorOptions = {}) {
    const list = issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ");
    super(`invalid parameters for flow "${flowName}": ${list}`, options);
    this.issues = issues;
  }
}

export class MissingFlowError extends FlowpackError {
  override readonly code = "FLOW_MISSING";
}

export class UnspecifiedFlowError extends FlowpackError {
  override readonly code = "FLOW_UNSPECIFIED";
}

export class ScriptError extends FlowpackError {
  override readonly code = "SCRIPT_FAILED";
}

export class BundleError extends FlowpackError {
  override readonly code = "BUNDLE_FAILED";
}

export class ManifestError extends FlowpackError {
  override readonly code = "MANIFEST_INVALID";
}

export class StoreError extends FlowpackError {
  override readonly code = "STORE_OBJECT_INVALID";
}

export class PackagerOptionsError extends FlowpackError {
  override readonly code = "PACKAGER_OPTIONS_INVALID";
}

/** A dependency's folder whose published files cannot be listed (unreadable package.json, bad `files`). */
export class DependencyFilesError extends FlowpackError {
  override readonly code = "DEPENDENCY_FILES_INVALID";
}

// image model: bad input too (I/O failures underneath keep their Node error as `cause`)

/** An image reference that breaks a rule of the reference grammar; the message names the rule. */
export class ImageReferenceError extends FlowpackError {
  override readonly code = "IMAGE_REFERENCE_INVALID";
}

/** An entry or option the layer builder refuses (`..`, a symlink leaving the folder, a duplicate path). */
export class LayerError extends FlowpackError {
  override readonly code = "LAYER_INVALID";
}

/** An image config, manifest or index that does not match the OCI / Docker schema, or that contradicts itself. */
export class ImageFormatError extends FlowpackError {
  override readonly code = "IMAGE_INVALID";
}

/** An OCI image layout directory that is missing, malformed, or lacks the requested image. */
export class ImageLayoutError extends FlowpackError {
  override readonly code = "IMAGE_LAYOUT_INVALID";
}

/** A layer entry the extractor refuses to write (path traversal, escaping link, device file). */
export class UnsafeLayerEntryError extends FlowpackError {
  override readonly code = "LAYER_ENTRY_UNSAFE";
}

// ── the flow failed (exit 1) ────────────────────────────────────────────────

/**
 * One error of a flow's story: the error it threw, or one of that error's causes. `stack` is the
 * error's own stack text (source-mapped to the user's files when the bundle's map was found).
 */
export interface ErrorStory {
  name: string;
  message: string;
  /** A string `code` the error carried (Node's `ENOENT`, a library's own code). */
  code?: string;
  stack?: string;
}

export interface FlowRunErrorOptions extends FlowpackErrorOptions {
  /** The error the flow threw (name, message, stack). */
  flowError?: ErrorStory;
  /** Its `cause` chain, outermost first. */
  causes?: ErrorStory[];
  /** The run the flow failed in. */
  runId?: string;
}

/**
 * The flow's function threw (exit 1). Keeps the flow's own error — name, message, stack — and its
 * cause chain, so the user sees what their code saw, also when it ran in a container.
 */
export class FlowRunError extends FlowpackError {
  override readonly code: string = "FLOW_FAILED";
  override readonly exitCode = 1;
  readonly flowError: ErrorStory | undefined;
  readonly causes: ErrorStory[];
  readonly runId: string | undefined;

  constructor(message: string, options: FlowRunErrorOptions = {}) {
    super(message, options);
    this.flowError = options.flowError;
    this.causes = options.causes ?? [];
    this.runId = options.runId;
  }
}

/** The flow returned a value JSON cannot carry (a BigInt, a Map, a cycle, …); the message names its path. */
export class FlowResultError extends FlowRunError {
  override readonly code = "FLOW_RESULT_INVALID";
}

// ── infrastructure (exit 3) ─────────────────────────────────────────────────

export class InfrastructureError extends FlowpackError {
  override readonly code: string = "INFRASTRUCTURE";
  override readonly exitCode = 3;
}

export class DaemonUnreachableError extends InfrastructureError {
  override readonly code = "DAEMON_UNREACHABLE";
}

export class BuildError extends InfrastructureError {
  override readonly code = "BUILD_FAILED";
  /** The last lines of build output before the failure (secrets never appear in build output we produce). */
  readonly logTail: string[];

  constructor(message: string, options: FlowpackErrorOptions & { logTail?: string[] } = {}) {
    super(message, options);
    this.logTail = options.logTail ?? [];
  }
}

export class PushError extends InfrastructureError {
  override readonly code = "PUSH_FAILED";
}

export class RegistryError extends InfrastructureError {
  override readonly code: string = "REGISTRY_ERROR";
  /** HTTP status, when the registry answered. */
  readonly status: number | undefined;
  /** OCI distribution error codes from the response body (e.g. `BLOB_UNKNOWN`). */
  readonly registryCodes: string[];

  constructor(
    message: string,
    options: FlowpackErrorOptions & { status?: number; registryCodes?: string[] } = {},
  ) {
    super(message, options);
    this.status = options.status;
    this.registryCodes = options.registryCodes ?? [];
  }
}

export class RegistryAuthError extends RegistryError {
  override readonly code = "REGISTRY_UNAUTHORIZED";
}

export class ContainerRunError extends InfrastructureError {
  override readonly code = "CONTAINER_FAILED";
}

/** The Docker daemon refused an image flowpack streamed into it (`docker load`), when packaging or before a run. */
export class ImageLoadError extends InfrastructureError {
  override readonly code = "IMAGE_LOAD_FAILED";
}

/**
 * `--on swarm` cannot start: the Docker endpoint is not a swarm manager (or not in a swarm), or it
 * refused to create the service.
 */
export class SwarmUnavailableError extends InfrastructureError {
  override readonly code = "SWARM_UNAVAILABLE";
}

/**
 * The swarm could not run the flow's task: no node meets the constraints, the image could not be
 * pulled (rejected), the task was orphaned or its node lost, or it ended without the runner's
 * result. The message names the node and the swarm's own reason.
 */
export class SwarmTaskError extends InfrastructureError {
  override readonly code = "SWARM_TASK_FAILED";
}

/** The run took longer than `--timeout`; what it started was stopped and removed. */
export class RunTimeoutError extends InfrastructureError {
  override readonly code = "RUN_TIMEOUT";
}

/**
 * A fan-out (`--each`) ended with runs that did not succeed; each run's own error is in its result
 * line. `exitCode` is the batch's: 1 some flow failed, 2 bad input, 3 infrastructure.
 */
export class BatchFailedError extends FlowpackError {
  override readonly code = "BATCH_FAILED";
  override readonly exitCode: 1 | 2 | 3;

  constructor(message: string, options: FlowpackErrorOptions & { exitCode?: 1 | 2 | 3 } = {}) {
    super(message, options);
    this.exitCode = options.exitCode ?? 1;
  }
}

// ── interrupted (exit 130 for SIGINT, 143 for SIGTERM, as shells report them) ──

export type StopSignal = "SIGINT" | "SIGTERM";

export class InterruptedError extends FlowpackError {
  override readonly code = "INTERRUPTED";
  override readonly exitCode: 130 | 143;
  /** The signal that stopped the work; SIGINT when not known. */
  readonly signal: StopSignal;

  constructor(message: string, options: FlowpackErrorOptions & { signal?: StopSignal } = {}) {
    super(message, options);
    this.signal = options.signal ?? "SIGINT";
    this.exitCode = this.signal === "SIGTERM" ? 143 : 130;
  }
}

// ── file-system faults (exit 2: the path given is wrong · exit 3: the machine is) ─────────────

/**
 * A file-system call failed on a path the user gave or a path flowpack owns. `path` is the path as
 * the user knows it (the output, the store, the cache, the temporary folder), `errno` Node's code
 * (`ENOSPC`, `ENOTDIR`, …). `code` is stable per cause: FS_NOT_A_DIRECTORY, FS_IS_A_DIRECTORY,
 * FS_NAME_TOO_LONG, FS_PERMISSION_DENIED, FS_EXISTS, FS_NOT_FOUND (exit 2, FileSystemPathError);
 * FS_NO_SPACE, FS_READ_ONLY, FS_TOO_MANY_OPEN_FILES, FS_IO, FS_PERMISSION_DENIED on a path flowpack
 * owns (exit 3, FileSystemFaultError). `fileSystemError()` in `_internal/fs-errors.ts` makes them.
 */
export class FileSystemError extends FlowpackError {
  override readonly code: string;
  readonly path: string;
  readonly errno: string | undefined;

  constructor(message: string, options: FlowpackErrorOptions & { code: string; path: string; errno?: string }) {
    super(message, options);
    this.code = options.code;
    this.path = options.path;
    this.errno = options.errno;
  }
}

/** The path cannot be used as given: not a folder, a folder, too long, no permission, in the way, missing parent. */
export class FileSystemPathError extends FileSystemError {}

/** The machine cannot complete the work: disk full, read-only file system, out of file handles, I/O error. */
export class FileSystemFaultError extends FileSystemError {
  override readonly exitCode = 3;
}
