import type { FlowEnv } from "../_internal/env-vars.js";
import { UsageError } from "../errors.js";
import { serializeManifest } from "./registry.js";
import type { DockerPackageManifest } from "./schema.js";

/** Environment variables the in-image runner reads. */
export const RUNNER_ENV = {
  flowName: "FLOWPACK_FLOW_NAME",
  flowLocation: "FLOWPACK_FLOW_LOCATION",
  manifest: "FLOWPACK_MANIFEST",
  params: "FLOWPACK_PARAMS",
  /** A JSON array of parameter sets; the runner takes the one at JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). */
  paramSets: "FLOWPACK_PARAM_SETS",
  /** The run's id (the run record's `runId`); with a parameter set, `<id>-<index>`. Default: a fresh UUID. */
  runId: "FLOWPACK_RUN_ID",
  /** A file the runner also writes its JSON record to, cut to fit (a Kubernetes termination message). */
  resultFile: "FLOWPACK_RESULT_FILE",
} as const;

/** Refuses a flow variable that would set one of the runner's own (it decides which flow runs, and with what). */
export function assertNoRunnerVariables(env: FlowEnv): void {
  const reserved = Object.keys(env).find((name) => (Object.values(RUNNER_ENV) as string[]).includes(name));
  if (reserved) throw new UsageError(`--env ${reserved}: flowpack's runner sets ${reserved} itself`, { hint: "choose another name for the flow's variable" });
}

/** What a container runs the flow with: one parameter set, or (`sets`) one per completion index. */
export type RunnerInput = { params: Record<string, unknown> } | { sets: Record<string, unknown>[] };

/**
 * The environment of a container that runs `manifest`'s flow from its image (`flowpack run --on
 * docker`, a Kubernetes Job): the flow's own variables, then the runner's, last, so that a flow's
 * --env cannot redirect which flow runs. The one place these are put together.
 */
export function containerRunnerEnv(manifest: DockerPackageManifest, input: RunnerInput, flowEnv: FlowEnv = {}): FlowEnv {
  const [name, value] = "sets" in input ? [RUNNER_ENV.paramSets, input.sets] : [RUNNER_ENV.params, input.params];
  return { ...flowEnv, [RUNNER_ENV.manifest]: serializeManifest(manifest), [name]: JSON.stringify(value) };
}
