import { Job as JobModel } from "kubernetes-models/batch/v1/Job";
import type { Job } from "kubernetes-types/batch/v1.js";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ManifestError, ParameterValidationError, UsageError } from "../../src/errors.js";
import { isDnsLabel, isLabelKey, isLabelValue, toDnsLabel, toLabelValue } from "../../src/export/k8s-names.js";
import { DEFAULT_TTL_SECONDS, kubernetesJob, MAX_ENV_BYTES, TERMINATION_LOG, type KubernetesJobOptions } from "../../src/export/kubernetes.js";
import { kubernetesJobYaml } from "../../src/export/kubernetes-yaml.js";
import type { DockerPackageManifest } from "../../src/manifest/schema.js";
import { parseManifest, serializeManifest } from "../../src/manifest/registry.js";
import { containerRunnerEnv } from "../../src/manifest/runner-env.js";
import { rejection } from "../helpers/rejection.js";

const digest = `sha256:${"ab".repeat(32)}`;
const manifest: DockerPackageManifest = {
  type: "docker",
  manifestVersion: 1,
  flowName: "nightly.etl_job",
  flowParameterSchema: {
    type: "object",
    properties: { day: { type: "string" }, n: { type: "integer" } },
    required: ["day"],
    additionalProperties: false,
  },
  image: `registry.example.com/team/etl@${digest}`,
  imageFlowLocation: "/opt/flowpack/flow.mjs",
};
const withImage = (image: string) => ({ ...manifest, image });

/** The Job checked against the Kubernetes OpenAPI schema (kubernetes-models' ajv validation): throws when invalid. */
function assertValidJob(job: Job): void {
  new JobModel(job as ConstructorParameters<typeof JobModel>[0]).validate();
}

const containerOf = (job: Job) => job.spec!.template.spec!.containers[0]!;
const envOf = (job: Job) => Object.fromEntries((containerOf(job).env ?? []).map((e) => [e.name, e.value]));

describe("kubernetesJob", () => {
  it("(the schema check this file relies on rejects what the API server would)", () => {
    expect(() => assertValidJob({ apiVersion: "batch/v1", kind: "Job", spec: { backoffLimit: "0" as never, template: { spec: { containers: [{ name: "c", image: "i" }] } } } })).toThrow(/backoffLimit/);
    expect(() => assertValidJob({ apiVersion: "batch/v1", kind: "Job", spec: { template: { spec: { containers: [{ image: "i" } as never] } } } })).toThrow(/name/);
  });

  it("writes a valid batch/v1 Job that runs the pinned image with the runner's inputs, once", async () => {
    const job = await kubernetesJob(manifest, { day: "2024-01-31", n: 2 }, { runId: "run-1", timeoutSeconds: 600, env: { MODE: "test" } });
    assertValidJob(job);
    expect(job).toMatchObject({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "nightly-etl-job-run-1" } });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: DEFAULT_TTL_SECONDS });
    expect(job.spec!.completionMode).toBeUndefined();
    expect(job.spec!.template.spec).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false });
    const container = containerOf(job);
    expect(container).toMatchObject({ image: manifest.image, args: ["--json"], terminationMessagePath: TERMINATION_LOG, terminationMessagePolicy: "FallbackToLogsOnError" });
    // The same variables `flowpack run --on docker` gives its container, plus the run id and the result file.
    expect(envOf(job)).toEqual({
      ...containerRunnerEnv(manifest, { params: { day: "2024-01-31", n: 2 } }, { MODE: "test" }),
      FLOWPACK_RUN_ID: "run-1",
      FLOWPACK_RESULT_FILE: TERMINATION_LOG,
    });
    expect(parseManifest(envOf(job).FLOWPACK_MANIFEST!)).toEqual(manifest);
    expect(Object.keys(envOf(job))[0]).toBe("MODE"); // the flow's first, the runner's last
  });

  it("labels the Job and its pods with sanitised values; the flow's own name is an annotation", async () => {
    const longName = `a${"-b.c_d".repeat(20)}.`;
    const job = await kubernetesJob({ ...manifest, flowName: longName }, { day: "x" }, { runId: "r", labels: { "example.com/team": "data", tier: "" } });
    assertValidJob(job);
    const labels = job.metadata!.labels!;
    expect(labels["app.kubernetes.io/name"]).toBe(toLabelValue(longName));
    expect(labels["app.kubernetes.io/name"]!.length).toBeLessThanOrEqual(63);
    expect(labels).toMatchObject({ "app.kubernetes.io/managed-by": "flowpack", "flowpack.dev/run-id": "r", "example.com/team": "data", tier: "" });
    for (const [key, value] of Object.entries(labels)) expect(isLabelKey(key) && isLabelValue(value), `${key}=${value}`).toBe(true);
    expect(job.spec!.template.metadata!.labels).toEqual(labels);
    expect(job.metadata!.annotations).toEqual({ "flowpack.dev/flow-name": longName });
    expect(isDnsLabel(job.metadata!.name!)).toBe(true);
    expect(job.metadata!.name!.endsWith("-r")).toBe(true);
  });

  it("an Indexed Job for parameter sets: completions, parallelism, a per-index backoff, every set in the env", async () => {
    const sets = Array.from({ length: 6 }, (_, i) => ({ day: `2024-01-0${i + 1}` }));
    const job = await kubernetesJob(manifest, sets, { runId: "batch" });
    assertValidJob(job);
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: 6, parallelism: 4, backoffLimitPerIndex: 0 });
    expect(job.spec!.backoffLimit).toBeUndefined(); // 0 would stop every pod at the first failed set
    expect(JSON.parse(envOf(job).FLOWPACK_PARAM_SETS!)).toEqual(sets);
    expect(envOf(job).FLOWPACK_PARAMS).toBeUndefined();
    expect((await kubernetesJob(manifest, sets.slice(0, 2))).spec!.parallelism).toBe(2);
    expect((await kubernetesJob(manifest, sets, { parallelism: 6 })).spec!.parallelism).toBe(6);
  });

  it("an Indexed Job's name leaves room for its last pod's hostname, <name>-<completions-1>", async () => {
    const sets = Array.from({ length: 120 }, (_, i) => ({ day: String(i) }));
    const long = { ...manifest, flowName: "f".repeat(128) };
    const job = await kubernetesJob(long, sets, { runId: "12345678-aaaa" });
    expect(isDnsLabel(`${job.metadata!.name}-119`)).toBe(true);
    expect(job.metadata!.name!.endsWith("-12345678")).toBe(true);
    const tooLong = (await rejection(kubernetesJob(manifest, sets, { name: "x".repeat(60) }))) as UsageError;
    expect(tooLong).toBeInstanceOf(UsageError);
    expect(tooLong.hint).toContain(`"-119" (its last pod's hostname) appended`);
    await expect(kubernetesJob(manifest, sets, { name: "x".repeat(59) })).resolves.toBeDefined();
  });

  it("resources from cpus and memory, image pull secrets, env from secrets, a namespace", async () => {
    const job = await kubernetesJob(manifest, { day: "x" }, { cpus: 0.25, memory: "512Mi", imagePullSecrets: ["regcred"], envFromSecrets: ["etl-db"], namespace: "batch" });
    assertValidJob(job);
    expect(containerOf(job).resources).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "250m", memory: "512Mi" } });
    expect(containerOf(job).envFrom).toEqual([{ secretRef: { name: "etl-db" } }]);
    expect(job.spec!.template.spec!.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(job.metadata!.namespace).toBe("batch");
    expect(containerOf(await kubernetesJob(manifest, { day: "x" }, { cpus: 2 })).resources).toEqual({ requests: { cpu: "2" }, limits: { cpu: "2" } });
  });

  it("the YAML parses back to the same Job, with no anchors, and says that env values are plain text", async () => {
    const job = await kubernetesJob(manifest, [{ day: "a" }, { day: "b" }], { runId: "y" });
    const yaml = await kubernetesJobYaml(job);
    expect(parse(yaml)).toEqual(job);
    expect(yaml).not.toMatch(/[&*]a\d/);
    expect(yaml).toContain("plain text");
    expect(yaml).toContain("kubectl get pods -l flowpack.dev/run-id=y");
  });

  it("refuses bad parameters before writing anything: every bad set named (exit 2)", async () => {
    const one = await rejection(kubernetesJob(manifest, { n: 1 }));
    expect(one).toBeInstanceOf(ParameterValidationError);
    const many = (await rejection(kubernetesJob(manifest, [{ day: "ok" }, { day: 3 }, { day: "x", typo: 1 }]))) as ParameterValidationError;
    expect(many).toBeInstanceOf(ParameterValidationError);
    expect(many.exitCode).toBe(2);
    const paths = many.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["set 1: day", "set 2: typo"]));
    expect(paths.some((p) => p.startsWith("set 0"))).toBe(false);
    expect(await rejection(kubernetesJob(manifest, []))).toBeInstanceOf(UsageError);
  });

  it("refuses images a cluster cannot pull, and unpinned ones unless allowed, with run --on docker's wording", async () => {
    for (const image of [`oci:/tmp/layout@${digest}`, `docker-archive:/tmp/a.tar@${digest}`, digest]) {
      const error = await rejection(kubernetesJob(withImage(image), { day: "x" }));
      expect(error, image).toBeInstanceOf(UsageError);
      expect(error.message).toContain("which a cluster cannot pull");
    }
    const unpinned = await rejection(kubernetesJob(withImage("registry.example.com/etl:latest"), { day: "x" }));
    expect(unpinned).toBeInstanceOf(ManifestError);
    expect(unpinned.message).toContain("is not pinned to a digest");
    const allowed = await kubernetesJob(withImage("registry.example.com/etl:latest"), { day: "x" }, { allowUnpinned: true });
    expect(containerOf(allowed).image).toBe("registry.example.com/etl:latest");
    const file = { type: "file", manifestVersion: 1, flowName: "f", flowParameterSchema: {}, store: "/s", key: "k" } as never;
    expect(await rejection(kubernetesJob(file, {}))).toBeInstanceOf(UsageError);
  });

  it.each<[string, KubernetesJobOptions]>([
    ["--name", { name: "Not_A_Name" }],
    ["--name", { name: "x".repeat(64) }],
    ["--namespace", { namespace: "-ns" }],
    ["secret", { imagePullSecrets: ["Reg Cred"] }],
    ["--label", { labels: { "bad key!": "v" } }],
    ["--label", { labels: { k: "v".repeat(64) } }],
    ["--label", { labels: { "flowpack.dev/run-id": "mine" } }],
    ["--memory", { memory: "512m" }],
    ["--cpus", { cpus: 0 }],
    ["--timeout", { timeoutSeconds: 1.5 }],
    ["--ttl", { ttlSecondsAfterFinished: -1 }],
    ["--parallelism", { parallelism: 2 }],
    ["--env", { env: { FLOWPACK_PARAMS: "{}" } }],
  ])("refuses %s %j (exit 2)", async (option, options) => {
    const error = await rejection(kubernetesJob(manifest, { day: "x" }, options));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(option);
  });

  it(`refuses an environment over ${MAX_ENV_BYTES / 1024} KiB, with a hint to split the sets`, async () => {
    const sets = Array.from({ length: 300 }, (_, i) => ({ day: `${i}-${"x".repeat(1000)}` }));
    const error = await rejection(kubernetesJob(manifest, sets));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/would hold \d+ KiB/);
    expect((error as UsageError).hint).toContain("fewer lines per --each file");
    await expect(kubernetesJob(manifest, sets.slice(0, 200))).resolves.toBeDefined();
  });
});

describe("Kubernetes names", () => {
  it.each([
    ["nightly.etl_job", "nightly-etl-job"],
    ["UPPER--case", "upper--case"],
    ["-x-", "x"],
    ["___", ""],
  ])("toDnsLabel(%j) = %j", (input, expected) => {
    expect(toDnsLabel(input)).toBe(expected);
    if (expected) expect(isDnsLabel(expected)).toBe(true);
  });

  it("toLabelValue keeps '.', '_' and case, cuts to 63 and trims to letters or digits", () => {
    expect(toLabelValue("My.Flow_1")).toBe("My.Flow_1");
    expect(toLabelValue("a b/c")).toBe("a-b-c");
    expect(toLabelValue(`${"a".repeat(62)}._x`)).toBe("a".repeat(62));
    expect(isLabelValue(toLabelValue(`_${"é".repeat(80)}_`))).toBe(true);
  });

  it("label keys: an optional DNS-subdomain prefix and a name", () => {
    expect(isLabelKey("app.kubernetes.io/name")).toBe(true);
    expect(isLabelKey("team")).toBe(true);
    expect(isLabelKey("Example.com/x")).toBe(false);
    expect(isLabelKey("example.com/")).toBe(false);
    expect(isLabelKey("/x")).toBe(false);
  });

  it("the manifest in the env round-trips through serializeManifest", () => {
    expect(parseManifest(serializeManifest(manifest))).toEqual(manifest);
  });
});
