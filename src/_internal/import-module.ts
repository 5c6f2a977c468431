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
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ScriptError(`${label} failed while loading: ${message}`, { cause: error });
  }
}
