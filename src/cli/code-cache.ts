import { readFileSync, statSync } from "node:fs";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import type { Script } from "node:vm";
import { defaultCacheDir } from "../_internal/cache-dir.js";
import { hash64 } from "../_internal/hash64.js";
import { pruneOldest } from "../_internal/prune.js";
import { IMPORT_HOOK } from "../_internal/import-module.js";

/**
 * Loads a CommonJS bundle of flowpack's own (a command of the built CLI, `dist/commands/*.cjs`)
 * with V8's code cache: the first run keeps what V8 compiled in flowpack's cache folder, and the
 * next runs start from it instead of parsing and compiling the bundle again. Compiling the modules
 * a command loads was the largest part of flowpack's start-up (~20–40 ms of `run --on docker`,
 * more for `package`), and Node.js 20 keeps no such cache of its own for modules.
 *
 * The cache file is named after the bundle (its name, and a hash of its path: another install of
 * flowpack keeps its own caches), its size, modification time and inode, and this Node.js's
 * version and architecture (a reinstalled or rebuilt flowpack, or another Node.js, never finds an
 * old one), and V8 checks it again (its version and flags) and rejects what does not fit; a
 * rejected or missing cache is written again after the command (saveCodeCaches). Private to the
 * user (0700 folder, 0600 files), as the other caches that hold code. Where the folder cannot be
 * used, commands load as they would without it.
 */
export async function requireWithCodeCache(file: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const vm = await import("node:vm");
  const source = readFileSync(file, "latin1"); // the build writes them in ASCII: no UTF-8 to decode
  const info = statSync(file);
  const name = `${basename(file).replace(/[^\w.-]+/g, "-")}-${hash64(file)}`;
  const cacheFile = join(defaultCacheDir(env), "code", `${name}-${[info.size, Math.trunc(info.mtimeMs), info.ino, process.version, process.arch].join("-")}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // not cached yet
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  // A script has no import() of its own (Node's option for one is experimental, and lost with a
  // code cache): the bundle's (a flow's bundle, say) is this module's (_internal/import-module.ts).
  (globalThis as Record<symbol, unknown>)[IMPORT_HOOK] ??= (specifier: string) => import(specifier);
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  if (!cachedData || script.cachedDataRejected) toSave.push({ script, cacheFile, prefix: `${name}-` });
  return module.exports;
}

/** Bundles loaded without a usable cache in this process: their cache is written by saveCodeCaches(). */
const toSave: { script: Script; cacheFile: string; prefix: string }[] = [];

/**
 * Caches kept in the folder, whatever installed them (each install has one per command it ran):
 * the oldest written go first, and are written again by the next run that needs them.
 */
const KEEP_CODE_CACHES = 40;

/**
 * Writes the code cache of each bundle this process loaded without one (after the command ran: the
 * cache then also holds the functions it compiled while running), and removes that bundle's older
 * caches, and the oldest past KEEP_CODE_CACHES. Best effort: a cache that cannot be written is
 * simply not there next time.
 */
export async function saveCodeCaches(): Promise<void> {
  const saving = toSave.splice(0);
  for (const entry of saving) await save(entry);
  if (saving.length > 0) await pruneOldest(dirname(saving[0]!.cacheFile), KEEP_CODE_CACHES).catch(() => undefined);
}

async function save({ script, cacheFile, prefix }: (typeof toSave)[number]): Promise<void> {
  try {
    const dir = dirname(cacheFile);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const old of await readdir(dir)) {
      if (old.startsWith(prefix) && join(dir, old) !== cacheFile && (old.endsWith(".bin") || leftBehind(old))) await rm(join(dir, old), { force: true });
    }
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    try {
      const handle = await open(temporary, "w", 0o600);
      try {
        await handle.writeFile(script.createCachedData());
      } finally {
        await handle.close();
      }
      await rename(temporary, cacheFile);
    } finally {
      await rm(temporary, { force: true });
    }
  } catch {
    // the next run compiles again
  }
}

/** A temporary file (`<cache>.<pid>.tmp`) of a process that is gone (it exited while writing). */
function leftBehind(name: string): boolean {
  const pid = Number(/\.(\d+)\.tmp$/.exec(name)?.[1]);
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
