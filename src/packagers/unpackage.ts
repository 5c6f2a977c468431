import { access, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { findProjectRoot } from "../bundle/packages.js";
import { sha256 } from "../oci/compute-digest.js";
import { importBundle } from "../bundle/temporary.js";
import { MissingFlowError, StoreError } from "../errors.js";
import { isFlow, type AnyFlow } from "../flow/flow.js";
import { importScript } from "../_internal/import-module.js";
import { flowsOf, pickFlow } from "../flow/select.js";
import type { PackageManifest } from "../manifest/registry.js";
import type { DockerPackageManifest, FilePackageManifest } from "../manifest/schema.js";
import { ContentStore } from "../store/content-store.js";

export interface UnpackageOptions {
  /**
   * File packages: the project folder whose node_modules provide the bundle's external packages.
   * Default: the project (nearest package.json) of the working directory.
   */
  projectRoot?: string;
}

/** Loads the flow a manifest describes, from wherever its package put it. */
export async function unpackage(manifest: PackageManifest, options: UnpackageOptions = {}): Promise<AnyFlow> {
  switch (manifest.type) {
    case "docker":
      return unpackageDocker(manifest);
    case "file":
      return unpackageFile(manifest, options);
  }
}

/** Meant to run inside the image: the flow's bundle (an ES module) sits at `imageFlowLocation`. */
export async function unpackageDocker(manifest: DockerPackageManifest): Promise<AnyFlow> {
  const location = manifest.imageFlowLocation;
  return pickFlow(flowsOf(await importScript(location)), manifest.flowName, location);
}

export async function unpackageFile(manifest: FilePackageManifest, options: UnpackageOptions = {}): Promise<AnyFlow> {
  const store = new ContentStore(manifest.store);
  const bytes = await store.get(manifest.key);
  const serializer = manifest.serializer;
  if (serializer.type === "import") {
    if (bytes.toString("utf8") !== JSON.stringify(serializer)) {
      throw new StoreError(`object ${manifest.key} does not hold the import reference the manifest names`);
    }
    const namespace = await importScript(serializer.module);
    const value = namespace[serializer.exportName];
    if (!isFlow(value) || value.name !== manifest.flowName) {
      throw new MissingFlowError(
        `export "${serializer.exportName}" of ${serializer.module} is not the flow "${manifest.flowName}"`,
      );
    }
    return value;
  }
  const namespace = await importBundle(
    {
      code: bytes,
      projectRoot: options.projectRoot ?? findProjectRoot(process.cwd()),
      map: serializer.sourceMap ? await store.get(serializer.sourceMap) : undefined,
      ...(serializer.assets ? { assetsRoot: await storedAssets(store, serializer.assets) } : {}),
    },
    { keepUntilExit: true },
  );
  return pickFlow(flowsOf(namespace), manifest.flowName, `the bundle ${manifest.key}`);
}

/**
 * The files a file package stored beside its bundle, as a folder in the store
 * (`assets/<digest of the list>`): written once (each object verified by the store), then reused.
 */
async function storedAssets(store: ContentStore, assets: Record<string, string>): Promise<string> {
  const entries = Object.entries(assets).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [path] of entries) {
    if (posix.isAbsolute(path) || posix.normalize(path) !== path || path.split("/").includes("..")) {
      throw new StoreError(`the manifest names an asset outside its folder: ${JSON.stringify(path)}`);
    }
  }
  const folder = join(store.root, "assets", sha256(Buffer.from(JSON.stringify(entries))).replace(/^sha256:/, ""));
  if (await exists(folder)) return folder;
  await mkdir(dirname(folder), { recursive: true });
  const staging = await mkdtemp(`${folder}.partial-`);
  try {
    for (const [path, key] of entries) {
      const target = join(staging, ...path.split("/"));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await store.get(key));
    }
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (!(await exists(folder))) throw error; // another run placed it first: that one is used
  }
  return folder;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
