import { randomUUID } from "node:crypto";
import type { Job, JobSpec } from "kubernetes-types/batch/v1.js";
import type { Container, EnvFromSource, ResourceRequirements } from "kubernetes-types/core/v1.js";
import type { FlowEnv } from "../_internal/env-vars.js";
import { ParameterValidationError, UsageError } from "../errors.js";
import type { PackageManifest } from "../manifest/registry.js";
import { assertNoRunnerVariables, containerRunnerEnv, RUNNER_ENV } from "../manifest/runner-env.js";
import { assertPinned } from "../run/docker.js";
import { imageSource } from "../run/image-source.js";
import { paramSetIssues } from "../run/param-sets.js";
import type { Parameters } from "../run/parameters.js";
import { validateAgainstSchema } from "../run/validate.js";
import {
  checkName,
  DNS_LABEL_RULE,
  DNS_SUBDOMAIN_RULE,
  isDnsLabel,
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
  LABEL_RULE,
  toDnsLabel,
  toLabelValue,
} from "./k8s-names.js";

export type { Job } from "kubernetes-types/batch/v1.js";

/** How long Kubernetes keeps a finished Job (and its pods, logs, termination messages) by default: one hour. */
export const DEFAULT_TTL_SECONDS = 3600;
/** Pods of an Indexed Job that run at once when not told: at most this many. */
export const DEFAULT_PARALLELISM = 4;
/**
 * Most bytes of environment (names and values) flowpack puts in one Job: the manifest and the
 * parameter sets ride there, and a whole Kubernetes object must stay well under etcd's ~1.5 MiB.
 */
export const MAX_ENV_BYTES = 256 * 1024;
/** Where Kubernetes reads a container's termination message (its default path). */
export const TERMINATION_LOG = "/dev/termination-log";
/** The container's name in the pod. */
export const CONTAINER_NAME = "flow";
/** Labels flowpack puts on the Job and its pods. */
export const JOB_LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  managedBy: "app.kubernetes.io/managed-by",
  runId: "flowpack.dev/run-id",
} as const;
/** Annotation holding the flow's name as it is (a label value is cut to fit). */
export const FLOW_NAME_ANNOTATION = "flowpack.dev/flow-name";

export interface KubernetesJobOptions {
  /** The Job's name (a DNS-1123 label). Default: `<flow>-<first 8 of the run id>`. */
  name?: string;
  namespace?: string;
  /** Labels the Job and its pods, and is the runner's run id (with `-<index>` per set). Default: a fresh UUID. */
  runId?: string;
  /** activeDeadlineSeconds: the whole Job (every pod of an Indexed Job) is stopped after this many seconds. */
  timeoutSeconds?: number;
  /** ttlSecondsAfterFinished. Default DEFAULT_TTL_SECONDS. */
  ttlSecondsAfterFinished?: number;
  /** Secrets (type kubernetes.io/dockerconfigjson) the kubelet pulls the image with. */
  imagePullSecrets?: string[];
  /** CPUs, as requests and limits (e.g. 0.5 → 500m). */
  cpus?: number;
  /** Memory as a Kubernetes quantity (512Mi, 2Gi), as requests and limits. */
  memory?: string;
  /** The flow's environment variables: written in the Job in plain text (keep secrets in a Secret: envFromSecrets). */
  env?: FlowEnv;
  /** Secrets whose keys become the flow's environment variables (envFrom secretRef); their values stay out of the Job. */
  envFromSecrets?: string[];
  /** More labels for the Job and its pods. */
  labels?: Record<string, string>;
  /** Indexed Job: pods running at once. Default min(sets, DEFAULT_PARALLELISM). */
  parallelism?: number;
  /** Accept a registry image named by tag only (no `@sha256:` digest). */
  allowUnpinned?: boolean;
  /** Names the manifest in errors. Default "manifest". */
  source?: string;
}

/**
 * A `batch/v1` Job that runs a docker manifest's flow once with `params` — or, given an array of
 * parameter sets, an Indexed Job whose pod at completion index i runs set i — from the manifest's
 * pinned registry image, with the inputs `flowpack run --on docker` gives the container. The
 * runner writes its JSON record to the termination log, so `kubectl get pod -o
 * jsonpath='{..terminated.message}'` shows the result. Everything is checked first: the image
 * (pinned, pullable by a cluster), the parameters against the manifest's schema (every bad set
 * named), the names and labels against Kubernetes' rules.
 */
export async function kubernetesJob(manifest: PackageManifest, input: Parameters | Parameters[], options: KubernetesJobOptions = {}): Promise<Job> {
  const where = options.source ?? "manifest";
  if (manifest.type !== "docker") {
    throw new UsageError(`${where} is a ${manifest.type} manifest: a Kubernetes Job runs a container image`, { hint: "package the flow with --packager docker --registry HOST/REPO" });
  }
  const source = imageSource(manifest.image);
  if (source.kind !== "registry") {
    const what = { "oci-layout": "an OCI layout", "docker-archive": "a docker-archive file", daemon: "an image ID in a local Docker daemon" }[source.kind];
    throw new UsageError(`${where}: its image is ${what} on this machine, which a cluster cannot pull`, {
      hint: "package the flow with --registry HOST/REPO (a registry the cluster can pull from), then export that manifest",
    });
  }
  if (!options.allowUnpinned) assertPinned(manifest.image);
  const env = options.env ?? {};
  assertNoRunnerVariables(env);
  const indexed = Array.isArray(input);
  if (indexed && input.length === 0) throw new UsageError("no parameter sets: an Indexed Job needs at least one");
  if (!indexed && options.parallelism !== undefined) throw new UsageError("--parallelism applies to a Job of several parameter sets (--each) only");
  await validateSets(manifest.flowName, indexed ? input : [input], manifest.flowParameterSchema, where, indexed);

  const runId = options.runId ?? randomUUID();
  checkName("run id", runId, isLabelValue, "a label value: at most 63 of letters, digits, '-', '_', '.'");
  // The API server refuses an Indexed Job whose last pod's hostname, `<name>-<completions-1>`, would not be a DNS label.
  const indexSuffix = indexed ? `-${input.length - 1}` : "";
  const name =
    options.name === undefined
      ? defaultJobName(manifest.flowName, runId, indexSuffix.length)
      : checkName("--name", options.name, (n) => isDnsLabel(n + indexSuffix), indexed ? `${DNS_LABEL_RULE}, with "${indexSuffix}" (its last pod's hostname) appended` : DNS_LABEL_RULE);
  if (options.namespace !== undefined) checkName("--namespace", options.namespace, isDnsLabel, DNS_LABEL_RULE);
  for (const secret of [...(options.imagePullSecrets ?? []), ...(options.envFromSecrets ?? [])]) checkName("secret", secret, isDnsSubdomain, DNS_SUBDOMAIN_RULE);
  const labels = jobLabels(manifest.flowName, name, runId, options.labels ?? {});

  const containerEnv = {
    ...containerRunnerEnv(manifest, indexed ? { sets: input } : { params: input }, env),
    [RUNNER_ENV.runId]: runId,
    [RUNNER_ENV.resultFile]: TERMINATION_LOG,
  };
  const envBytes = Object.entries(containerEnv).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (envBytes > MAX_ENV_BYTES) {
    throw new UsageError(`the Job's environment would hold ${Math.ceil(envBytes / 1024)} KiB (manifest, parameters, --env), more than the ${MAX_ENV_BYTES / 1024} KiB flowpack puts in one Job`, {
      hint: indexed ? "split the parameter sets over several Jobs (fewer lines per --each file)" : "pass large inputs by reference (a URL or a path the flow reads), not as parameters",
    });
  }

  const container: Container = {
    name: CONTAINER_NAME,
    image: manifest.image,
    args: ["--json"],
    env: Object.entries(containerEnv).map(([n, value]) => ({ name: n, value })),
    ...(options.envFromSecrets?.length ? { envFrom: options.envFromSecrets.map((s): EnvFromSource => ({ secretRef: { name: s } })) } : {}),
    ...resources(options.cpus, options.memory),
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  const spec: JobSpec = {
    ...(indexed
      ? {
          completionMode: "Indexed",
          completions: input.length,
          parallelism: positiveInteger("--parallelism", options.parallelism) ?? Math.min(input.length, DEFAULT_PARALLELISM),
          // One failed set fails its index only; the others run on (Kubernetes ≥ 1.29). Not backoffLimit 0: that stops every pod at the first failure.
          backoffLimitPerIndex: 0,
        }
      : { backoffLimit: 0 }),
    ...optional("activeDeadlineSeconds", positiveInteger("--timeout", options.timeoutSeconds)),
    ttlSecondsAfterFinished: nonNegativeInteger("--ttl", options.ttlSecondsAfterFinished) ?? DEFAULT_TTL_SECONDS,
    template: {
      metadata: { labels: { ...labels } },
      spec: {
        restartPolicy: "Never",
        // A flow has no business with the cluster's API: no service account token in its pod.
        automountServiceAccountToken: false,
        ...(options.imagePullSecrets?.length ? { imagePullSecrets: options.imagePullSecrets.map((s) => ({ name: s })) } : {}),
        containers: [container],
      },
    },
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, ...(options.namespace ? { namespace: options.namespace } : {}), labels, annotations: { [FLOW_NAME_ANNOTATION]: manifest.flowName } },
    spec,
  };
}

/** `<flow>-<first 8 of the run id>`, a DNS-1123 label even with `reserve` more characters appended. */
function defaultJobName(flowName: string, runId: string, reserve: number): string {
  const suffix = toDnsLabel(runId.slice(0, 8));
  const base = toDnsLabel(flowName, 63 - reserve - suffix.length - 1) || "flow";
  return suffix ? `${base}-${suffix}` : base;
}

function jobLabels(flowName: string, jobName: string, runId: string, extra: Record<string, string>): Record<string, string> {
  const own: Record<string, string> = {
    [JOB_LABELS.name]: toLabelValue(flowName) || "flow",
    [JOB_LABELS.instance]: jobName,
    [JOB_LABELS.managedBy]: "flowpack",
    [JOB_LABELS.runId]: runId,
  };
  for (const [key, value] of Object.entries(extra)) {
    if (!isLabelKey(key) || !isLabelValue(value)) throw new UsageError(`--label ${JSON.stringify(`${key}=${value}`)}: not a valid Kubernetes label`, { hint: LABEL_RULE });
    if (key in own) throw new UsageError(`--label ${key}: flowpack sets this label itself`, { hint: "choose another key" });
  }
  return { ...own, ...extra };
}

/** Every set checked against the schema; the issues of all of them reported at once (`set N: …` with several). */
async function validateSets(flowName: string, sets: Parameters[], schema: PackageManifest["flowParameterSchema"], where: string, named: boolean): Promise<void> {
  if (!named) return validateAgainstSchema(flowName, sets[0]!, schema, where);
  const issues = await paramSetIssues(flowName, schema, sets.map((params, i) => ({ label: `set ${i}`, params })), where);
  if (issues.length > 0) throw new ParameterValidationError(flowName, issues);
}

const MEMORY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

function resources(cpus: number | undefined, memory: string | undefined): { resources?: ResourceRequirements } {
  const amounts: Record<string, string> = {};
  if (cpus !== undefined) {
    if (!Number.isFinite(cpus) || cpus < 0.001) throw new UsageError(`--cpus ${cpus}: expected a number of CPUs, at least 0.001`);
    amounts.cpu = Number.isInteger(cpus) ? String(cpus) : `${Math.round(cpus * 1000)}m`;
  }
  if (memory !== undefined) {
    if (!MEMORY.test(memory)) {
      throw new UsageError(`--memory ${JSON.stringify(memory)}: expected a Kubernetes quantity such as 512Mi or 2Gi`, {
        hint: "Kubernetes reads a lowercase m as thousandths (512m is half a byte): write Mi or Gi",
      });
    }
    amounts.memory = memory;
  }
  if (Object.keys(amounts).length === 0) return {};
  // Requests equal to limits: the pod gets what it may use (the Guaranteed class when both are set).
  return { resources: { requests: { ...amounts }, limits: { ...amounts } } };
}

function positiveInteger(option: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new UsageError(`${option} ${value}: expected a whole number, at least 1`);
  return value;
}

function nonNegativeInteger(option: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new UsageError(`${option} ${value}: expected a whole number, at least 0`);
  return value;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
