import { existsSync, statSync } from "node:fs";
import { extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { MissingFlowError, ScriptError, UnspecifiedFlowError, UsageError } from "../errors.js";
import { isFlow, type AnyFlow } from "./flow.js";

/** Every distinct flow a module exports, in export order. */
export function flowsOf(moduleNamespace: Record<string, unknown>): AnyFlow[] {
  const found: AnyFlow[] = [];
  for (const value of Object.values(moduleNamespace)) {
    if (isFlow(value) && !found.includes(value)) found.push(value);
  }
  return found;
}

/** Picks one flow by name, or the only one; the errors list what was found. */
export function pickFlow(flows: AnyFlow[], flowName: string | undefined, where: string): AnyFlow {
  const names = flows.map((f) => f.name);
  if (flowName !== undefined) {
    const match = flows.find((f) => f.name === flowName);
    if (match) return match;
    throw new MissingFlowError(
      flows.length === 0
        ? `flow "${flowName}" not found in ${where}: it defines no flows`
        : `flow "${flowName}" not found in ${where}; flows found: ${names.join(", ")}`,
      { hint: flows.length === 0 ? "export the flow: export const myFlow = flow(…)" : undefined },
    );
  }
  if (flows.length === 1) return flows[0]!;
  if (flows.length === 0) {
    throw new MissingFlowError(`no flows found in ${where}`, { hint: "export the flow: export const myFlow = flow(…)" });
  }
  throw new UnspecifiedFlowError(`${where} defines several flows (${names.join(", ")}); name the one to use`, {
    hint: "pass --flow NAME",
  });
}

/**
 * Imports a module (a file path, a file URL or a package specifier) and turns anything it throws
 * into a ScriptError.
 */
export async function importScript(pathOrSpecifier: string): Promise<Record<string, unknown>> {
  const specifier = isAbsolute(pathOrSpecifier) ? pathToFileURL(pathOrSpecifier).href : pathOrSpecifier;
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ScriptError(`${pathOrSpecifier} failed while loading: ${message}`, { cause: error });
  }
}

const TYPESCRIPT = new Set([".ts", ".mts", ".cts", ".tsx"]);

/**
 * Loads the flow named `flowName` (or the only flow) from a script. JavaScript modules are
 * imported as they are; TypeScript is bundled first (with its local imports) and the bundle imported.
 */
export async function loadFlowFromScript(path: string, flowName?: string): Promise<AnyFlow> {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new UsageError(`flow script not found: ${path}`);
  }
  let modulePath = absolute;
  if (TYPESCRIPT.has(extname(absolute))) {
    const { bundleFlow } = await import("../bundle/bundle.js");
    const { writeTemporaryBundle } = await import("../bundle/temporary.js");
    modulePath = await writeTemporaryBundle(await bundleFlow(absolute));
  }
  return pickFlow(flowsOf(await importScript(modulePath)), flowName, path);
}
