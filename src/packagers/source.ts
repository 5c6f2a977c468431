import { FLOWPACK_VERSION } from "../_internal/version.js";
import { bundleFlow, type Bundle, type BundleOptions } from "../bundle/bundle.js";
import { importBundle, type BundleImporter } from "../bundle/temporary.js";
import { FlowReader, ReadInThreadUnsupported, type FlowInfo } from "../flow/reader.js";
import { withProcessEnv, type FlowEnv } from "../_internal/env-vars.js";
import { InvalidFlowError, ScriptError, isFlowpackError } from "../errors.js";
import type { AnyFlow } from "../flow/flow.js";
import { flowsOf, pickFlow } from "../flow/select.js";
import type { FileManifestMetadata } from "../manifest/schema.js";
import type { BundleAsset } from "../bundle/assets.js";
import { isSecretPath } from "./docker/credentials.js";

/** What a packager packages: a flow object (from code) or the path of the script that defines it. */
export type PackageTarget = AnyFlow | string;

export interface PackageOptions extends BundleOptions {
  /** Which flow, when the script defines several. */
  flowName?: string;
  /** Imports the bundle to read the flow in this thread (`--watch`), instead of a reader thread; see BundleImporter. */
  importer?: BundleImporter;
  /**
   * The reader thread to read the flow in, kept by the caller for the next read while it is
   * `reusable` (a warm process's); default: a fresh thread per call, closed after it.
   */
  reader?: FlowReader;
  /** Called with the bundle once it is built (a watcher learns which files to watch). */
  onBundle?: (bundle: Bundle) => void;
  /**
   * Variables set (on top of this environment) only while the flow's module is loaded to read its
   * name and schema: placeholders for a flow that checks its env when it loads. Never packaged.
   */
  env?: FlowEnv;
}

/** A flow together with the bundle that defines it; the flow was read from that very bundle. */
export interface BundledFlow {
  flow: FlowInfo;
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
  // One-shot: the flow is read in a thread that starts now and loads the packages while esbuild
  // bundles the code (see FlowReader). A `--watch` session's importer keeps them loaded instead.
  const reader = options.importer ? undefined : (options.reader ?? FlowReader.start());
  try {
    const bundle = await bundleFlow(entry, { ...options, ...(reader ? { onVendorCandidate: (vendor, projectRoot) => reader.preload(projectRoot, vendor) } : {}) });
    options.onBundle?.(bundle);
    try {
      const flow = reader ? await readInThread(reader, bundle, flowName, entry, options) : await readHere(bundle, flowName, entry, options);
      return { bundle, flow };
    } catch (error) {
      throw withEnvHint(error);
    }
  } finally {
    if (reader !== options.reader) reader?.close();
  }
}

async function readInThread(reader: FlowReader, bundle: Bundle, flowName: string | undefined, entry: string, options: PackageOptions): Promise<FlowInfo> {
  try {
    return await reader.read(bundle, flowName, entry, options.env);
  } catch (error) {
    if (error instanceof ReadInThreadUnsupported) {
      reader.readElsewhere();
      return readHere(bundle, flowName, entry, options);
    }
    throw error;
  }
}

/** The flow, from the bundle loaded in this thread (with the placeholders set in this process's environment meanwhile). */
async function readHere(bundle: Bundle, flowName: string | undefined, entry: string, options: PackageOptions): Promise<AnyFlow> {
  const namespace = await withProcessEnv("inherit", options.env ?? {}, () => (options.importer ? options.importer.import(bundle) : importBundle(bundle)));
  return pickFlow(flowsOf(namespace), flowName, entry);
}

/**
 * A flow that failed to load may want a variable that only exists where it runs (zod env schemas,
 * t3-env, envalid, `if (!process.env.X) throw`). The hint names a variable the message mentions that
 * is unset here, if any; it always says how to give a placeholder.
 */
function withEnvHint(error: unknown): unknown {
  if (!isFlowpackError(error) || error.code !== "SCRIPT_FAILED" || error.hint) return error;
  const mentionsEnv = /\benv/i.test(error.message);
  const names = new Set(error.message.match(/\b[A-Z][A-Z0-9_]{2,}\b/g) ?? []);
  const unset = [...names].filter((name) => (mentionsEnv || name.includes("_")) && process.env[name] === undefined);
  const hint = unset.length > 0
    ? `it reads ${unset.join(", ")} when it loads, not set here: give a placeholder while packaging, e.g. --env ${unset[0]}=placeholder (or --env-file FILE); it is used only to load the flow, never packaged`
    : "if it needs an environment variable when it loads, give a placeholder while packaging with --env KEY=VALUE or --env-file FILE (used only to load the flow, never packaged)";
  return new ScriptError(error.message, { hint, cause: (error as Error).cause });
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

/** A bundle's files beside the code, split into those that ship and credential files that never do (see docker/credentials.ts). */
export function shippableAssets(bundle: Pick<Bundle, "assets">): { assets: BundleAsset[]; leftOut: BundleAsset[] } {
  const assets: BundleAsset[] = [];
  const leftOut: BundleAsset[] = [];
  for (const asset of bundle.assets ?? []) (isSecretPath(asset.path) ? leftOut : assets).push(asset);
  return { assets, leftOut };
}
