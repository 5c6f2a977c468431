import { findProjectRoot } from "../bundle/packages.js";
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
  const namespace = await importBundle({
    code: bytes,
    projectRoot: options.projectRoot ?? findProjectRoot(process.cwd()),
    map: serializer.sourceMap ? await store.get(serializer.sourceMap) : undefined,
  });
  return pickFlow(flowsOf(namespace), manifest.flowName, `the bundle ${manifest.key}`);
}
