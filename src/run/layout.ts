import { rm } from "node:fs/promises";
import { layoutEnv, withProcessEnv, type FlowEnv } from "../_internal/env-vars.js";
import { onPath } from "../_internal/fs-errors.js";
import { makeOwnedTempDir } from "../_internal/temp-dirs.js";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ManifestError } from "../errors.js";
import { extractLayers } from "../image/extract.js";
import { readImageFromLayout, type LayoutImage } from "../image/layout.js";
import { unpackageDocker } from "../packagers/unpackage.js";
import type { DockerPackageManifest } from "../manifest/schema.js";
import { layoutTag } from "./image-source.js";
import { runFlow, type RunFlowOptions, type RunRecord } from "./local.js";

/** The layers flowpack added on top of the base, as the manifest's metadata records them. */
export function addedLayers(manifest: DockerPackageManifest, image: LayoutImage): LayoutImage["layers"][number][] {
  const recorded = manifest.metadata?.layers ?? {};
  const wanted = [recorded.dependencies, recorded.vendor, recorded.app].filter((d): d is string => typeof d === "string");
  if (wanted.length === 0) throw new ManifestError("this manifest does not record which layers hold the flow (metadata.layers)");
  return wanted.map((digest) => {
    const layer = image.layers.find((l) => l.digest === digest);
    if (!layer) throw new ManifestError(`layer ${digest} named by the manifest is not in the image`);
    return layer;
  });
}

/** The folder a layout's layers are extracted to, for file-system errors about it. */
const RUN_FOLDER_ROLE = { action: "extract the flow into a temporary folder", owner: "flowpack", hint: "or point TMPDIR at a folder with free space" } as const;

/**
 * Runs a flow packaged into an OCI layout without any daemon: only the dependency, vendor and app layers
 * are extracted (safely: nothing may escape the folder), into a temporary root that is removed
 * afterwards, and the flow runs in this process from `<root>/<imageFlowLocation>`.
 *
 * The layout stands for the image, so the flow sees the environment a container would: the image
 * config's `Env`, `env`, and a minimal set from here (LAYOUT_HOST_ENV), nothing else. process.env is
 * replaced in place while the flow loads and runs, and restored afterwards (in-process rather than
 * a child process: the flow's module, its errors and Ctrl-C behave as in any local run).
 */
export async function runFromLayout(
  manifest: DockerPackageManifest,
  dir: string,
  digest: string,
  params: Record<string, unknown>,
  options: RunFlowOptions & { env?: FlowEnv } = {},
): Promise<RunRecord> {
  // The pinned digest picks the image, even when the tag has moved on to a newer one; its layers
  // are checked against their digests as they are extracted.
  const image = await readImageFromLayout(dir, { digest, refName: layoutTag(manifest) });
  const layers = addedLayers(manifest, image);
  const base = tmpdir();
  const root = await onPath(base, RUN_FOLDER_ROLE, () => makeOwnedTempDir(base, "flowpack-run-"));
  try {
    await onPath(root, RUN_FOLDER_ROLE, () => extractLayers(layers, root));
    const imageEnv = image.config.config?.Env ?? [];
    const { env = {}, ...stop } = options;
    return await withProcessEnv("replace", layoutEnv(imageEnv, env), async () => {
      const flow = await unpackageDocker({ ...manifest, imageFlowLocation: join(root, manifest.imageFlowLocation) });
      return runFlow(flow, params, undefined, stop);
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
