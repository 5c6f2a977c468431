import { FileSystemFaultError, FileSystemPathError, isFlowpackError } from "../errors.js";

/**
 * The one place where a Node.js errno error on a path becomes a FileSystemError: the path as the
 * user knows it, what flowpack was doing there, the cause in words and Node's code, and what to do.
 * Errors without a file-system errno (bugs, flowpack's own errors) pass through unchanged.
 */

/** What a path is to flowpack, for the message: what it was doing there and whose path it is. */
export interface PathRole {
  /** Completes "cannot …": `write the OCI layout`, `extract the image into the temporary folder`. */
  action: string;
  /**
   * `user`: named by a flag or an environment variable, so a wrong path is bad input (exit 2).
   * `flowpack`: a folder flowpack chose; anything going wrong there is the machine (exit 3).
   */
  owner: "user" | "flowpack";
  /** Added to the cause's own hint, e.g. "or choose another --oci-layout folder". */
  hint?: string;
}

interface Cause {
  code: string;
  reason: string;
  /** `path`: the path is wrong (exit 2 on a user's path). `machine`: the machine is (exit 3). */
  kind: "path" | "machine";
  hint: string;
}

const CAUSES: Record<string, Cause> = {
  ENOTDIR: { code: "FS_NOT_A_DIRECTORY", reason: "not a directory", kind: "path", hint: "a part of the path is a file: name a folder, or move the file away" },
  EISDIR: { code: "FS_IS_A_DIRECTORY", reason: "is a directory", kind: "path", hint: "name a file, not a folder" },
  ENAMETOOLONG: { code: "FS_NAME_TOO_LONG", reason: "name too long", kind: "path", hint: "use a shorter path" },
  EEXIST: { code: "FS_EXISTS", reason: "something is in the way", kind: "path", hint: "move what is there away, or choose another path" },
  ENOENT: { code: "FS_NOT_FOUND", reason: "a parent folder does not exist", kind: "path", hint: "create the folder first (mkdir -p), or choose another path" },
  EACCES: { code: "FS_PERMISSION_DENIED", reason: "permission denied", kind: "path", hint: "choose a path you may write to, or fix its permissions" },
  EPERM: { code: "FS_PERMISSION_DENIED", reason: "operation not permitted", kind: "path", hint: "choose a path you may write to, or fix its permissions" },
  ENOSPC: { code: "FS_NO_SPACE", reason: "no space left on the device", kind: "machine", hint: "free some space there, or choose a path on another file system" },
  EDQUOT: { code: "FS_NO_SPACE", reason: "disk quota exceeded", kind: "machine", hint: "free some space there, or choose a path on another file system" },
  EROFS: { code: "FS_READ_ONLY", reason: "read-only file system", kind: "machine", hint: "choose a path on a writable file system" },
  EMFILE: { code: "FS_TOO_MANY_OPEN_FILES", reason: "too many open files", kind: "machine", hint: "raise the open-file limit (ulimit -n) and try again" },
  ENFILE: { code: "FS_TOO_MANY_OPEN_FILES", reason: "too many open files on the system", kind: "machine", hint: "close other programs, or raise the system's file limit" },
  EIO: { code: "FS_IO", reason: "input/output error", kind: "machine", hint: "the disk may be failing: check it (dmesg), or choose another path" },
};

/** Node's errno code (`ENOSPC`, …) of an error, when it has one. */
function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** Whether `error` is a file-system fault this module knows how to describe. */
export function isFileSystemFault(error: unknown): boolean {
  if (isFlowpackError(error)) return false;
  const errno = errnoOf(error);
  return errno !== undefined && CAUSES[errno] !== undefined;
}

/**
 * `error` as a FileSystemError about `path` (message: `cannot <action> at <path>: <reason> (<ERRNO>)`),
 * or `error` itself when it is not a file-system fault (or already one of flowpack's errors).
 */
export function fileSystemError(error: unknown, path: string, role: PathRole): unknown {
  if (!isFileSystemFault(error)) return error;
  const errno = errnoOf(error)!;
  const cause = CAUSES[errno]!;
  const options = {
    code: cause.code,
    path,
    errno,
    hint: role.hint ? `${cause.hint}; ${role.hint}` : cause.hint,
    cause: error,
  };
  const message = `cannot ${role.action} at ${path}: ${cause.reason} (${errno})`;
  const userMistake = cause.kind === "path" && role.owner === "user";
  return userMistake ? new FileSystemPathError(message, options) : new FileSystemFaultError(message, options);
}

/** Runs `work`; a file-system fault it throws becomes a FileSystemError about `path` (see fileSystemError). */
export async function onPath<T>(path: string, role: PathRole, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw fileSystemError(error, path, role);
  }
}

/** An errno error made here, for a fault found by looking before writing (see path-checks.ts). */
export function errnoError(errno: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: ${path}`), { code: errno, path });
}
