import { FLOWPACK_VERSION } from "../_internal/version.js";
import { bundleFlow, type Bundle, type BundleOptions } from "../bundle/bundle.js";
import { importBundle, type BundleImporter } from "../bundle/temporary.js";
import { InvalidFlowError } from "../errors.js";
import type { AnyFlow } from "../flow/flow.js";
import { flowsOf, pickFlow } from "../flow/select.js";
import type { FileManifestMetadata } from "../manifest/schema.js";

/** What a packager packages: a flow object (from code) or the path of the script that defines it. */
export type PackageTarget = AnyFlow | string;

export interface PackageOptions extends BundleOptions {
  /** Which flow, when the script defines several. */
  flowName?: string;
  /** Imports the bundle to read the flow (default: a fresh one per call); see BundleImporter. */
  importer?: BundleImporter;
  /** Called with the bundle once it is built (a watcher learns which files to watch). */
  onBundle?: (bundle: Bundle) => void;
}

/** A flow together with the bundle that defines it; the flow was loaded from that very bundle. */
export interface BundledFlow {
  flow: AnyFlow;
  bundle: Bundle;
}

/**
 * Bundles the target's module and loads the flow back from the bundle, so that what gets packaged
 * is exactly what will run (and a flow that only works with unbundled code fails here, not later).
 */
export async function bundleTarget(target: PackageTarget, options: PackageOptions = {}): Promise<BundledFlow> {
  let entry: string;
  let flowName = options.flowName;
  if (typeof target === "string") {
    entry = target;
  } else {
    if (!target.modulePath) {
      throw new InvalidFlowError(`flow "${target.name}" does not know the module that defined it; package its script path instead`);
    }
    entry = target.modulePath;
    flowName ??= target.name;
  }
  const bundle = await bundleFlow(entry, options);
  options.onBundle?.(bundle);
  const namespace = options.importer ? await options.importer.import(bundle) : await importBundle(bundle);
  return { bundle, flow: pickFlow(flowsOf(namespace), flowName, entry) };
}

/** `createdBy` in every manifest's metadata: this copy of flowpack and its version. */
export const CREATED_BY = `flowpack@${FLOWPACK_VERSION}`;

/** Metadata every packager records about a bundle: its entry, external packages and creator. */
export function metadataOf(bundle: { entry: string; externals: { name: string; version: string }[] }): FileManifestMetadata {
  return {
    entry: bundle.entry,
    ...(bundle.externals.length > 0 ? { externals: bundle.externals } : {}),
    createdBy: CREATED_BY,
  };
}
