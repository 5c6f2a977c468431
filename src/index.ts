// flowpack's public API. Everything not exported here is internal.

// Flows
export { flow, isFlow } from "./flow/flow.js";
export { loadFlowFromScript } from "./flow/load.js";
export { slugify, isValidFlowName, FLOW_NAME_RULE } from "./flow/name.js";
export { createLogger } from "./flow/logger.js";

// Bundling
export { bundleFlow } from "./bundle/bundle.js";

// Manifests
export {
  parseManifest,
  validateManifest,
  serializeManifest,
  baseManifest,
  manifestJsonSchema,
  knownManifestTypes,
} from "./manifest/registry.js";
export { MANIFEST_VERSION } from "./manifest/schema.js";

// Environment
export { NodeEnvironment } from "./environment/node.js";

// Packagers
export { FilePackager } from "./packagers/file.js";
export { DockerPackager, LOCAL_REPOSITORY } from "./packagers/docker/packager.js";
export { DEFAULT_IMAGE_FLOW_LOCATION, parseRegistryUrl } from "./packagers/docker/options.js";
export { unpackage } from "./packagers/unpackage.js";

// Running
export { runManifest, RUN_TARGETS } from "./run/manifest.js";
export { runFlow } from "./run/local.js";
export { runInContainer } from "./run/docker.js";
export { runFromLayout } from "./run/layout.js";
export { runOnSwarm, connectSwarm } from "./run/swarm.js";
export { runEach, eachExitCode } from "./run/each.js";
export { BATCH_TARGETS } from "./run/batch-target.js";
export { prepareContainerRuns, runPrepared } from "./run/docker.js";

// Exporting to other systems
export { kubernetesJob, DEFAULT_TTL_SECONDS, MAX_ENV_BYTES, type Job, type KubernetesJobOptions } from "./export/kubernetes.js";
export { kubernetesJobYaml } from "./export/kubernetes-yaml.js";

// Errors: every class a public call can throw (a unit test keeps this list complete)
export {
  FlowpackError,
  isFlowpackError,
  UsageError,
  ConfigError,
  InvalidFlowNameError,
  InvalidFlowError,
  ParameterValidationError,
  MissingFlowError,
  UnspecifiedFlowError,
  ScriptError,
  BundleError,
  ManifestError,
  StoreError,
  PackagerOptionsError,
  DependencyFilesError,
  ImageReferenceError,
  LayerError,
  ImageFormatError,
  ImageLayoutError,
  UnsafeLayerEntryError,
  FlowRunError,
  FlowResultError,
  InfrastructureError,
  DaemonUnreachableError,
  BuildError,
  PushError,
  RegistryError,
  RegistryAuthError,
  ContainerRunError,
  ImageLoadError,
  SwarmUnavailableError,
  SwarmTaskError,
  RunTimeoutError,
  BatchFailedError,
  InterruptedError,
  FileSystemError,
  FileSystemPathError,
  FileSystemFaultError,
} from "./errors.js";
export {
  RegistryUnreachableError,
  RegistryTimeoutError,
  DigestMismatchError,
  RegistryResponseError,
  CredentialHelperError,
} from "./registry/errors.js";

// Types
export type { Flow, AnyFlow, FlowContext, FlowOptions, FlowFunction, FlowParameters, JsonSchema, ParameterSchema } from "./flow/flow.js";
export type { Zod3Schema, Zod4Schema, OutputOf } from "./flow/schema.js";
export type { Logger, LogLevel, LogFields } from "./flow/logger.js";
export type { Bundle, BundleOptions, ExternalDependency } from "./bundle/bundle.js";
export type { Sha256Digest } from "./oci/digest.js";
export type { PackageManifest, ManifestType, PartialManifest } from "./manifest/registry.js";
export type {
  DockerPackageManifest,
  FilePackageManifest,
  Serializer,
  BundleSerializer,
  ImportSerializer,
} from "./manifest/schema.js";
export type { Packager } from "./packagers/packager.js";
export type { PackageTarget, PackageOptions } from "./packagers/source.js";
export type { FilePackagerOptions } from "./packagers/file.js";
export type { DockerPackagerOptions, RegistryTarget } from "./packagers/docker/options.js";
export type { NodeEnvironmentData, PackageManagerName } from "./environment/node.js";
export type { DockerRunOptions } from "./run/docker.js";
export type { RunManifestOptions, RunTarget } from "./run/manifest.js";
export type { SwarmRunOptions, SwarmRunRecord, SwarmSession } from "./run/swarm.js";
export type { ProgressEvent, ProgressListener } from "./progress.js";
export type { RunRecord } from "./run/local.js";
export type { EachInput, EachOptions, EachOutcome, EachSuccess, EachFailure, EachProgress, EachReport } from "./run/each.js";
export type { BatchTarget, PreparedBatch, BatchPrepareOptions, BatchRunOptions, BatchRunRecord } from "./run/batch-target.js";
export type { PreparedContainerRuns } from "./run/docker.js";
export type { ExitCode, ParameterIssue, ErrorStory, StopSignal } from "./errors.js";
