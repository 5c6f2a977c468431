import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { ScriptError } from "../errors.js";

/**
 * Imports a module (a file path, a file URL or a package specifier) and turns anything it throws
 * into a ScriptError naming `label` (default: the module itself; a bundle's importer passes the
 * user's entry file, not the temporary file it imported).
 */
export async function importScript(pathOrSpecifier: string, label = pathOrSpecifier): Promise<Record<string, unknown>> {
  const specifier = isAbsolute(pathOrSpecifier) ? pathToFileURL(pathOrSpecifier).href : pathOrSpecifier;
  try {
    return (await importModule(specifier)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ScriptError(`${label} failed while loading: ${message}`, { cause: error });
  }
}

/** Where code loaded outside Node's module loader finds an `import()` (see importModule). */
export const IMPORT_HOOK = Symbol.for("flowpack.importModule");

/**
 * `import(specifier)`. The built CLI runs its commands from bundles compiled with V8's code cache
 * (cli/code-cache.ts), code that Node's module loader did not load and so has no `import()` of its
 * own: the loader (a module) lends it its own, here. Elsewhere, this module's.
 */
export function importModule(specifier: string): Promise<unknown> {
  const hook = (globalThis as { [IMPORT_HOOK]?: (specifier: string) => Promise<unknown> })[IMPORT_HOOK];
  return hook ? hook(specifier) : import(specifier);
}

/**
 * The exports of a CommonJS module loaded with `import()`, however it was loaded: Node gives its
 * named exports (and `default`, module.exports); a bundle (the CLI's) may give `default` only.
 * Use it on every `import()` of a CommonJS package.
 */
export function commonJsExports<T extends object>(namespace: T): T {
  const exported = (namespace as { default?: unknown }).default;
  if (exported === null || (typeof exported !== "object" && typeof exported !== "function")) return namespace;
  return { ...(exported as object), ...namespace } as T;
}
