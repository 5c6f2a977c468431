import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { defaultCacheDir } from "../_internal/cache-dir.js";
import { writeCacheFile } from "../_internal/fs.js";

/**
 * Compiled parameter validators kept on disk, so a `flowpack run` neither loads Ajv (~300 KB) nor
 * compiles the manifest's schema again (together ~60–90 ms of a run here) when it has run a flow
 * with the same schema before. Ajv writes a validator as standalone code (`ajv/dist/standalone`); it
 * is stored in `$FLOWPACK_CACHE_DIR/validators/<sha256 of the schema, Ajv's options and version>.cjs`
 * and evaluated with Ajv's small runtime helpers (`ajv/dist/runtime/*`). Best effort: a file that is
 * missing, unreadable or does not evaluate is a miss, and a cache that cannot be written is skipped.
 * The errors it reports are those of the validator Ajv compiles (same code).
 */
/** Ajv's own modules, from node_modules (the CLI's bundles leave Ajv out: see validate.ts). */
export const ajvRequire = createRequire(import.meta.url);

export function validatorKey(schema: object, options: object): string {
  const ajvVersion = (ajvRequire("ajv/package.json") as { version: string }).version;
  return createHash("sha256").update(JSON.stringify([ajvVersion, options, schema])).digest("hex");
}

function validatorFile(key: string, env: NodeJS.ProcessEnv): string {
  return join(defaultCacheDir(env), "validators", `${key}.cjs`);
}

export async function readCachedValidator(key: string, env: NodeJS.ProcessEnv = process.env): Promise<ValidateFunction | undefined> {
  try {
    const code = await readFile(validatorFile(key, env), "utf8");
    const module: { exports: { default?: ValidateFunction } & Partial<ValidateFunction> } = { exports: {} };
    new Function("require", "module", "exports", code)(ajvRequire, module, module.exports);
    const validate = module.exports.default ?? module.exports;
    return typeof validate === "function" ? (validate as ValidateFunction) : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCachedValidator(key: string, code: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // code this process will run: writable and readable by this user only
  await writeCacheFile(validatorFile(key, env), code, { private: true });
}
