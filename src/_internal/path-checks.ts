import { accessSync, constants, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { errnoError, fileSystemError, type PathRole } from "./fs-errors.js";

/**
 * Checks made before any build or push starts, so that a wrong output path is an error in the
 * first second, not after the image was pushed. Synchronous: a few stats, once per command.
 * A path that passes may still fail later (the disk fills up); the writers handle that.
 */

/**
 * `file` can be written: it is not a folder, and its folder is a writable folder or can be made
 * (the writers create missing folders, as `--output` always did).
 */
export function checkOutputFile(file: string, role: PathRole): void {
  const target = resolve(file);
  guard(target, role, () => {
    if (probe(target)?.isDirectory()) throw errnoError("EISDIR", target);
    checkCreatable(dirname(target));
  });
}

/** `dir` is a writable folder, or can be made: its nearest existing ancestor is a writable folder. */
export function checkOutputFolder(dir: string, role: PathRole): void {
  const target = resolve(dir);
  guard(target, role, () => checkCreatable(target));
}

function checkCreatable(dir: string): void {
  let at = dir;
  let info = probe(at);
  while (!info && dirname(at) !== at) {
    at = dirname(at);
    info = probe(at);
  }
  if (!info) return;
  if (!info.isDirectory()) throw errnoError("ENOTDIR", at);
  accessSync(at, constants.W_OK | constants.X_OK);
}

/** The path's stats, or undefined when nothing is there; other faults (ENOTDIR, ENAMETOOLONG, EACCES) are thrown. */
function probe(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

function guard(path: string, role: PathRole, check: () => void): void {
  try {
    check();
  } catch (error) {
    throw fileSystemError(error, path, role);
  }
}
