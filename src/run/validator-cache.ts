import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { defaultCacheDir } from "../_internal/cache-dir.js";
import { hash64 } from "../_internal/hash64.js";
import { pruneOldest } from "../_internal/prune.js";

/**
 * Compiled parameter validators kept on disk, so a `flowpack run` neither loads Ajv (~300 KB) nor
 * compiles the manifest's schema again (together ~60–90 ms of a run here) when it has run a flow
 * with the same schema before. Ajv writes a validator as standalone code (`ajv/dist/standalone`); it
 * is stored in `$FLOWPACK_CACHE_DIR/validators/<key>.cjs` and evaluated with Ajv's small runtime
 * helpers (`ajv/dist/runtime/*`). Best effort: a file that is missing, unreadable or does not
 * evaluate is a miss, and a cache that cannot be written is skipped. The errors it reports are those
 * of the validator Ajv compiles (same code).
 *
 * What a validator was compiled from (the schema, Ajv's options and version: `ValidatorKey.source`)
 * is the file's first line, and a file is used only when that line is exactly the one asked for;
 * the name is a 64-bit hash of it. No cryptographic hash is needed for that, and node:crypto stays
 * unloaded in a run that does not otherwise need it (~5–8 ms of every `flowpack run` here).
 */
/** Ajv's own modules, from node_modules (the CLI's bundles leave Ajv out: see validate.ts). */
export const ajvRequire = createRequire(import.meta.url);

/** A validator's identity: what it is compiled from, one line of JSON, and the file name made of it. */
export interface ValidatorKey {
  source: string;
  name: string;
}

export function validatorKey(schema: object, options: object): ValidatorKey {
  const ajvVersion = (ajvRequire("ajv/package.json") as { version: string }).version;
  // JSON.stringify writes no line break (it escapes \n and \r): the source is one line.
  const source = JSON.stringify([ajvVersion, options, schema]);
  return { source, name: hash64(source) };
}

function validatorFile(key: ValidatorKey, env: NodeJS.ProcessEnv): string {
  return join(defaultCacheDir(env), "validators", `${key.name}.cjs`);
}

export async function readCachedValidator(key: ValidatorKey, env: NodeJS.ProcessEnv = process.env): Promise<ValidateFunction | undefined> {
  try {
    const text = await readFile(validatorFile(key, env), "utf8");
    const lineEnd = text.indexOf("\n");
    // Another schema's validator under the same name (a hash collision), or an older file: a miss.
    if (lineEnd < 0 || text.slice(0, lineEnd) !== key.source) return undefined;
    const code = text.slice(lineEnd + 1);
    const module: { exports: { default?: ValidateFunction } & Partial<ValidateFunction> } = { exports: {} };
    new Function("require", "module", "exports", code)(ajvRequire, module, module.exports);
    const validate = module.exports.default ?? module.exports;
    return typeof validate === "function" ? (validate as ValidateFunction) : undefined;
  } catch {
    return undefined;
  }
}

/** Validators kept; the oldest written go first (a schema whose validator went is compiled again, once). */
const KEEP_VALIDATORS = 200;

export async function writeCachedValidator(key: ValidatorKey, code: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Loaded on a miss only (it needs node:crypto for temporary names).
  const { writeCacheFile } = await import("../_internal/fs.js");
  const file = validatorFile(key, env);
  // code this process will run: writable and readable by this user only
  await writeCacheFile(file, `${key.source}\n${code}`, { private: true });
  await pruneOldest(dirname(file), KEEP_VALIDATORS).catch(() => undefined);
}
