import { createHash, randomBytes } from "node:crypto";
import { linkSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultCacheDir } from "../../_internal/cache-dir.js";
import { PACKAGE_ROOT } from "../../_internal/package-root.js";
import { KEY_VARIABLE, SERVE_VARIABLE } from "./names.js";

/**
 * Where a warm process (see server.ts) listens, and which one a `flowpack package` may hand its work
 * to: only one started by the same flowpack build (the CLI's entry and its `package` bundle, by
 * size, modification time and inode), on the same Node.js with the same flags, in the same folder,
 * with the same environment variables (the values too: a changed token, registry or
 * FLOWPACK_CACHE_DIR means another process). Its socket is named after a salted hash of all that, in
 * `<cache>/warm/` (0700, this user's), so the name tells nothing about the environment.
 */

/** Variables that differ between two invocations from the same shell without meaning anything to a build. */
const VOLATILE = new Set(["_", "OLDPWD", "SHLVL", SERVE_VARIABLE, KEY_VARIABLE]);

/** Longest socket path Linux and macOS take (sun_path is 108 and 104 bytes), less what the warm process adds to bind it first (`.<pid>.tmp`). */
const MAX_SOCKET_PATH = 103 - ".4194304.tmp".length;

export interface WarmPlace {
  /** `<cache>/warm`. */
  dir: string;
  /** The folder the invocation started in (where its warm process runs). */
  cwd: string;
  /** The salted hash that names this process's socket, and that it checks on every request. */
  key: string;
  socket: string;
  /** Its stderr (`<name>.log`, 0600): why a warm process failed to start or died. Removed when it exits cleanly. */
  log: string;
}

/** The folder warm processes listen in, made private to this user; undefined where it cannot be used safely. */
export function warmDir(env: NodeJS.ProcessEnv): string | undefined {
  // Windows has no owner-only folder modes to check, and its sockets are named pipes, not files here.
  if (process.platform === "win32") return undefined;
  const dir = join(defaultCacheDir(env), "warm");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = lstatSync(dir);
    // Anyone who can write here could answer in flowpack's name: the folder must be this user's alone.
    if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid()) || (info.mode & 0o077) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** What a warm process loads besides the CLI's entry: its build identity is these files'. */
const WARM_BUNDLES = ["package.cjs", "warm.cjs"].map((name) => join(PACKAGE_ROOT, "dist", "commands", name));

/**
 * The place of the warm process for this invocation (`entry`: the CLI's file), or undefined where
 * warm processes cannot be used (no private folder, a socket path too long).
 */
export function warmPlace(env: NodeJS.ProcessEnv, cwd: string, entry: string): WarmPlace | undefined {
  const dir = warmDir(env);
  if (!dir) return undefined;
  const salt = readSalt(dir);
  if (!salt) return undefined;
  const identity = [entry, ...WARM_BUNDLES].map((file) => {
    try {
      const info = statSync(file);
      return [file, info.size, Math.trunc(info.mtimeMs), info.ino];
    } catch {
      return [file];
    }
  });
  const variables = Object.entries(env)
    .filter(([name, value]) => value !== undefined && !VOLATILE.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const key = createHash("sha256")
    .update(salt)
    .update(JSON.stringify({ v: 1, identity, node: [process.execPath, process.version, process.arch, process.execArgv], uid: process.getuid?.(), umask: process.umask(), cwd, variables }))
    .digest("hex");
  const socket = join(dir, `${key.slice(0, 32)}.sock`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) return undefined;
  return { dir, cwd, key, socket, log: logOf(socket) };
}

/** This user's random salt for the socket names (`<dir>/salt`, 0600), made on first use: whole, or not at all. */
function readSalt(dir: string): Buffer | undefined {
  const file = join(dir, "salt");
  try {
    return readFileSync(file);
  } catch {
    // not made yet
  }
  // Written under a name of its own, then linked into place (which fails if another process was first).
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, randomBytes(32), { mode: 0o600 });
    linkSync(temporary, file);
  } catch {
    // made by another process meanwhile, or the folder is unusable
  } finally {
    rmSync(temporary, { force: true });
  }
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The log file of the warm process listening (or meant to listen) at `socket`. */
export function logOf(socket: string): string {
  return socket.replace(/\.sock$/, ".log");
}

/** The socket of the warm process logging to `log`. */
export function socketOf(log: string): string {
  return log.replace(/\.log$/, ".sock");
}
