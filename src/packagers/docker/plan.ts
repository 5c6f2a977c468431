import { readFileSync } from "node:fs";
import { posix } from "node:path";
import type { Sha256Digest } from "../../oci/digest.js";
import { sha256 } from "../../oci/compute-digest.js";
import { withSourceMapName, type Bundle } from "../../bundle/bundle.js";
import { VENDOR_FILE } from "../../bundle/vendor.js";
import { ASSETS_DIR } from "../../bundle/assets.js";
import type { InstalledPackage, NodeEnvironment } from "../../environment/node.js";
import type { LayerEntry } from "../../image/layer.js";
import type { GitInfo } from "./git-info.js";
import { RUNNER_ENV } from "../../manifest/runner-env.js";
import { RUNNER_FILE } from "../../bundle/runner.js";
import { DEPENDENCY_SELECTION } from "./dependencies.js";

/** Where flowpack's own runner lives in every image. */
export const RUNNER_DIR = "/opt/flowpack";
/** The runtime user: the official node images' `node` user; numeric so no passwd entry is needed. */
export const RUNTIME_USER = "1000:1000";

/**
 * Everything an image holds on top of its base, independent of how it is built. The Docker Engine
 * builder renders it as a Dockerfile; the OCI builder writes the same layers and config itself,
 * so images from either behave the same.
 */
export interface ImagePlan {
  baseImage: string;
  flowName: string;
  imageFlowLocation: string;
  /** Folder of the flow bundle; external packages go to its node_modules. */
  appDir: string;
  /** The runner layer: flowpack's in-image entrypoint (changes only with flowpack itself). */
  runnerFiles: LayerEntry[];
  /** The vendor layer: the npm packages the bundle imports, bundled apart (changes with them only); may be empty. */
  vendorFiles: LayerEntry[];
  /**
   * The app layer: the bundle, its source map and the files beside the code (`assets/<path in the
   * project>`, see bundle/assets.ts): the only layer a code change touches.
   */
  appFiles: LayerEntry[];
  /** The dependency layer's packages, or none. */
  dependencies: InstalledPackage[];
  /** `inImage`: the image installs the dependencies itself (needs network during the build). */
  dependencyMode: "copy" | "inImage";
  /** The rule that picks the dependency layer's files (see DEPENDENCY_SELECTION): part of the image's inputs and of the layer's cache key. */
  dependencySelection: string;
  installCommands: string[][];
  env: Record<string, string>;
  entrypoint: string[];
  user: string;
  workingDir: string;
  labels: Record<string, string>;
  /** sha256 over every input that shapes the image: the default tag derives from it. */
  inputsDigest: Sha256Digest;
}

export interface PlanInput {
  bundle: Bundle;
  flowName: string;
  baseImage: string;
  imageFlowLocation: string;
  environment: NodeEnvironment;
  dependencies: InstalledPackage[];
  dependencyMode: "copy" | "inImage";
  runner: { code: Buffer; digest: Sha256Digest };
  flowpackVersion: string;
  /** Extra inputs that change the image (platform, …). */
  salt?: string;
  /** The project's git remote and commit, for labels (see gitInfo). */
  git: GitInfo;
}

export type { GitInfo };

export function planImage(input: PlanInput): ImagePlan {
  const appDir = posix.dirname(input.imageFlowLocation);
  const bundleName = posix.basename(input.imageFlowLocation);
  // Only the trailing comment esbuild appends: the same text inside a string in the code stays as is.
  const code = withSourceMapName(input.bundle.code, `${bundleName}.map`);
  const appFiles: LayerEntry[] = [
    { path: input.imageFlowLocation, type: "file", mode: 0o644, content: code },
    { path: `${input.imageFlowLocation}.map`, type: "file", mode: 0o644, content: input.bundle.map },
    ...(input.bundle.assets ?? []).map((asset): LayerEntry => {
      const content = readFileSync(asset.file);
      return { path: `${appDir}/${ASSETS_DIR}/${asset.path}`, type: "file", mode: 0o644, content, contentDigest: sha256(content) };
    }),
  ];
  const vendor = input.bundle.vendor;
  const vendorFiles: LayerEntry[] = vendor
    ? [
        { path: `${appDir}/${VENDOR_FILE}`, type: "file", mode: 0o644, content: vendor.code, contentDigest: vendor.digest },
        { path: `${appDir}/${VENDOR_FILE}.map`, type: "file", mode: 0o644, content: vendor.map, contentDigest: vendor.mapDigest },
      ]
    : [];
  const runnerFiles: LayerEntry[] = [{ path: `${RUNNER_DIR}/${RUNNER_FILE}`, type: "file", mode: 0o644, content: input.runner.code, contentDigest: input.runner.digest }];
  const git = input.git;
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": input.flowName,
    "org.opencontainers.image.base.name": input.baseImage,
    ...(git.source ? { "org.opencontainers.image.source": git.source } : {}),
    ...(git.revision ? { "org.opencontainers.image.revision": git.revision } : {}),
    "dev.flowpack.flow": input.flowName,
    "dev.flowpack.version": input.flowpackVersion,
  };
  const env = {
    NODE_ENV: "production",
    [RUNNER_ENV.flowName]: input.flowName,
    [RUNNER_ENV.flowLocation]: input.imageFlowLocation,
  };
  const installCommands = input.dependencyMode === "inImage" ? input.environment.installCommands() : [];
  const plan: Omit<ImagePlan, "inputsDigest"> = {
    baseImage: input.baseImage,
    flowName: input.flowName,
    imageFlowLocation: input.imageFlowLocation,
    appDir,
    runnerFiles,
    vendorFiles,
    appFiles,
    dependencies: input.dependencyMode === "copy" ? input.dependencies : [],
    dependencyMode: input.dependencyMode,
    dependencySelection: DEPENDENCY_SELECTION,
    installCommands,
    env,
    entrypoint: ["node", `${RUNNER_DIR}/${RUNNER_FILE}`],
    user: RUNTIME_USER,
    workingDir: appDir,
    labels,
  };
  const inputsDigest = sha256(
    JSON.stringify({
      ...plan,
      runnerFiles: runnerFiles.map(fileDigest),
      vendorFiles: vendorFiles.map(fileDigest),
      appFiles: appFiles.map(fileDigest),
      dependencies: plan.dependencies.map((d) => [d.target, d.name, d.version]),
      salt: input.salt ?? "",
    }),
  );
  return { ...plan, inputsDigest };
}

/** An in-memory file entry's path and content digest (the known one, else computed). */
function fileDigest(entry: LayerEntry): [string, string] {
  return [entry.path, entry.contentDigest ?? sha256(entry.content as Buffer)];
}

/** The default tag of an image: `fp-` and the first 20 hex digits of a digest that identifies it. */
export function defaultTag(digest: string): string {
  return `fp-${digest.replace(/^sha256:/, "").slice(0, 20)}`;
}

/** The oci builder's default tag: derived from the image's inputs, so identical inputs give an identical tag. */
export function contentTag(plan: Pick<ImagePlan, "inputsDigest">): string {
  return defaultTag(plan.inputsDigest);
}
