import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../_internal/fs.js";
import { BUNDLE_FILE } from "../bundle/bundle.js";
import { MissingFlowError, StoreError } from "../errors.js";
import { isFlow, type AnyFlow } from "../flow/flow.js";
import { flowsOf, importScript, loadFlowFromScript, pickFlow } from "../flow/load.js";
import type { PackageManifest } from "../manifest/registry.js";
import type { DockerPackageManifest, FilePackageManifest } from "../manifest/schema.js";
import { ContentStore } from "../store/content-store.js";

/** Loads the flow a manifest describes, from wherever its package put it. */
export async function unpackage(manifest: PackageManifest): Promise<AnyFlow> {
  switch (manifest.type) {
    case "docker":
      return unpackageDocker(manifest);
    case "file":
      return unpackageFile(manifest);
  }
}

/** Meant to run inside the image: the flow's bundle sits at `imageFlowLocation`. */
export function unpackageDocker(manifest: DockerPackageManifest): Promise<AnyFlow> {
  return loadFlowFromScript(manifest.imageFlowLocation, manifest.flowName);
}

export async function unpackageFile(manifest: FilePackageManifest): Promise<AnyFlow> {
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
  // Materialise the verified bundle beside the store (so its external packages resolve as in the project).
  const dir = join(store.root, "..", "loaded", manifest.key.slice("sha256:".length, "sha256:".length + 16));
  await mkdir(dir, { recursive: true });
  const file = join(dir, BUNDLE_FILE);
  if (serializer.sourceMap) await writeFileAtomic(`${file}.map`, await store.get(serializer.sourceMap));
  await writeFileAtomic(file, bytes);
  return pickFlow(flowsOf(await importScript(file)), manifest.flowName, `the bundle ${manifest.key}`);
}
