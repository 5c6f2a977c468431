import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { onPath, type PathRole } from "../_internal/fs-errors.js";
import { checkOutputFolder } from "../_internal/path-checks.js";
import { PackagerOptionsError } from "../errors.js";
import { baseManifest } from "../manifest/registry.js";
import type { FilePackageManifest } from "../manifest/schema.js";
import { ContentStore } from "../store/content-store.js";
import type { Packager } from "./packager.js";
import { importScript } from "../_internal/import-module.js";
import { flowsOf, pickFlow } from "../flow/select.js";
import { CREATED_BY, bundleTarget, metadataOf, shippableAssets, type PackageOptions, type PackageTarget } from "./source.js";
import { ignoreProgress, type ProgressListener } from "../progress.js";

export interface FilePackagerOptions {
  /** The content-addressed store folder. Default: `.flowpack/store` in the flow's project. */
  store?: string;
  /**
   * `bundle` (default) stores the bundled module. `{ type: "import", module }` stores only a
   * reference to a module that is already installed where the flow runs (a package specifier).
   */
  serializer?: "bundle" | { type: "import"; module: string };
  /** Progress and warnings (the bundler's, e.g. a file the code reaches that cannot be shipped). */
  onProgress?: ProgressListener;
}

/** The content-addressed store, for file-system errors about it. */
export const STORE_ROLE: PathRole = { action: "write to the store", owner: "user", hint: "or choose another --store folder" };

/** Stores the bundled flow (and its source map) in a content-addressed store. */
export class FilePackager implements Packager<FilePackageManifest> {
  readonly type = "file" as const;
  readonly store: string | undefined;

  constructor(options: FilePackagerOptions = {}) {
    if (options.store !== undefined && options.store.trim() === "") {
      throw new PackagerOptionsError("store: expected a folder path, got an empty string");
    }
    if (options.store !== undefined) checkOutputFolder(options.store, STORE_ROLE); // before anything is bundled
    this.store = options.store;
    this.serializer = options.serializer ?? "bundle";
    this.onProgress = options.onProgress ?? ignoreProgress;
  }

  private readonly onProgress: ProgressListener;

  readonly serializer: NonNullable<FilePackagerOptions["serializer"]>;

  async package(target: PackageTarget, options: PackageOptions = {}): Promise<FilePackageManifest> {
    if (this.serializer !== "bundle") return this.packageImport(this.serializer.module, target, options);
    const { flow, bundle } = await bundleTarget(target, options);
    for (const message of bundle.warnings) this.onProgress({ phase: "warning", message });
    const store = new ContentStore(this.store ?? resolve(bundle.projectRoot, ".flowpack", "store"));
    // Files beside the code are stored with the bundle (credentials never are; see credentials.ts).
    const { assets } = shippableAssets(bundle);
    const contents = await Promise.all(assets.map((asset) => readFile(asset.file)));
    const [sourceMap, key, ...assetKeys] = (await onPath(store.root, STORE_ROLE, () => store.putAll([bundle.map, bundle.code, ...contents])));
    return baseManifest("file", flow).finalize({
      serializer: { type: "bundle", sourceMap: sourceMap!, ...(assets.length > 0 ? { assets: Object.fromEntries(assets.map((asset, i) => [asset.path, assetKeys[i]!])) } : {}) },
      key: key!,
      store: store.root,
      metadata: metadataOf(bundle),
    });
  }

  private packageImport(module: string, target: PackageTarget, options: PackageOptions): Promise<FilePackageManifest> {
    const flowName = options.flowName ?? (typeof target === "string" ? undefined : target.name);
    return packageImportReference(resolve(this.store ?? ".flowpack/store"), module, flowName);
  }
}

/** Stores a reference (module specifier + export name) to a flow installed where it runs. */
async function packageImportReference(
  storeRoot: string,
  module: string,
  flowName: string | undefined,
): Promise<FilePackageManifest> {
  const namespace = await importScript(module);
  const flow = pickFlow(flowsOf(namespace), flowName, module);
  const exportName = Object.keys(namespace).find((name) => namespace[name] === flow)!;
  const serializer = { type: "import" as const, module, exportName };
  const store = new ContentStore(storeRoot);
  const key = await onPath(store.root, STORE_ROLE, () => store.put(Buffer.from(JSON.stringify(serializer))));
  return baseManifest("file", flow).finalize({ serializer, key, store: store.root, metadata: { createdBy: CREATED_BY } });
}
