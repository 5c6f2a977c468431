import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { bundleFlow } from "../bundle/bundle.js";
import { importBundle } from "../bundle/temporary.js";
import { UsageError } from "../errors.js";
import type { AnyFlow } from "./flow.js";
import { importScript } from "../_internal/import-module.js";
import { flowsOf, pickFlow } from "./select.js";

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
  const namespace = TYPESCRIPT.has(extname(absolute)) ? await importBundle(await bundleFlow(absolute)) : await importScript(absolute);
  return pickFlow(flowsOf(namespace), flowName, path);
}
