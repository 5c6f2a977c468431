import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Job as JobModel } from "kubernetes-models/batch/v1/Job";
import type { Job } from "kubernetes-types/batch/v1.js";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { containerRuns } from "../../helpers/container-runs.js";
import { docker } from "../../helpers/docker.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

// What `kubectl apply` would run, proven without a cluster: the Job flowpack writes is checked
// against the Kubernetes schema, then its pod's container is started under `docker run` exactly as
// the kubelet would (image, args, env; JOB_COMPLETION_INDEX per index of an Indexed Job; a file
// mounted at the termination message path), and its result and termination message are read.
const runs = containerRuns("k8s");
const work = runs.work;
let env: NodeJS.ProcessEnv;
let manifest: string;

interface RunRecord {
  runId: string;
  status: string;
  result?: { shard: number; runId: string; region: string | null; padding: string };
  error?: { code: string; message: string };
}

async function exportJob(args: string[]): Promise<{ job: Job; yaml: string }> {
  const out = join(work, `job-${Math.random().toString(36).slice(2)}.yaml`);
  const r = await flowpack(["export", "kubernetes", manifest, "-o", out, ...args], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe("");
  const yaml = readFileSync(out, "utf8");
  const job = parse(yaml) as Job;
  new JobModel(job as ConstructorParameters<typeof JobModel>[0]).validate(); // throws when the API server would refuse it
  return { job, yaml };
}

/** Starts the Job's container as a pod would (for `index` of an Indexed Job); its stdout record, exit code and termination message. */
async function runPod(job: Job, index?: number): Promise<{ code: number; record: RunRecord; message: string; stderr: string }> {
  const container = job.spec!.template.spec!.containers[0]!;
  const terminationLog = join(work, `termination-${index ?? "single"}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(terminationLog, "");
  chmodSync(terminationLog, 0o666); // whichever user the image runs as
  const variables = [...(container.env ?? []).map((e) => `${e.name}=${e.value}`), ...(index === undefined ? [] : [`JOB_COMPLETION_INDEX=${index}`])];
  const r = await docker([
    "run",
    "--rm",
    "--network",
    "none",
    ...variables.flatMap((v) => ["-e", v]),
    "-v",
    `${terminationLog}:${container.terminationMessagePath}`,
    container.image!,
    ...(container.args ?? []),
  ]);
  return { code: r.code, record: JSON.parse(r.stdout) as RunRecord, message: readFileSync(terminationLog, "utf8"), stderr: r.stderr };
}

describe("flowpack export kubernetes: the Job's pod, run under docker", () => {
  beforeAll(async () => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
    manifest = await runs.packageToRegistry(fixture("flows", "shards.ts"), "shards", env);
  });

  it("one run: the pod's container returns the result, and the termination message is the run record", async () => {
    const { job, yaml } = await exportJob(["-p", "shard=7", "--env", "REGION=eu-west", "--timeout", "300", "--cpus", "0.5", "--memory", "256Mi"]);
    const runId = job.metadata!.labels!["flowpack.dev/run-id"]!;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 300 });
    expect(yaml).toContain(`kubectl get pods -l flowpack.dev/run-id=${runId}`);
    const pod = await runPod(job);
    expect(pod.code, pod.stderr).toBe(0);
    expect(pod.record).toMatchObject({ status: "completed", runId, result: { shard: 7, runId, region: "eu-west" } });
    expect(JSON.parse(pod.message)).toEqual(pod.record);
    expect(pod.stderr).toContain("shard 7 done");
  });

  it("an Indexed Job: each index runs its own set; a failing set fails its pod with its message in the termination log", async () => {
    const sets = join(work, "sets.jsonl");
    writeFileSync(sets, ['{"shard":0}', "# a comment", '{"shard":1,"fail":true}', '{"shard":2}'].join("\n"));
    const { job } = await exportJob(["--each", sets, "--parallelism", "2"]);
    const runId = job.metadata!.labels!["flowpack.dev/run-id"]!;
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: 3, parallelism: 2, backoffLimitPerIndex: 0 });
    const pods = await Promise.all([0, 1, 2].map((i) => runPod(job, i)));
    for (const i of [0, 2]) {
      expect(pods[i]!.code, pods[i]!.stderr).toBe(0);
      expect(pods[i]!.record.result).toMatchObject({ shard: i, runId: `${runId}-${i}` });
      expect(JSON.parse(pods[i]!.message)).toEqual(pods[i]!.record);
    }
    expect(pods[1]!.code).toBe(1);
    expect(JSON.parse(pods[1]!.message)).toMatchObject({ runId: `${runId}-1`, status: "failed", error: { code: "FLOW_FAILED", message: expect.stringContaining("shard 1 cannot be read") } });
  });

  it("a result over 4 KiB: the termination message stays valid JSON without it; stdout has it whole", async () => {
    const { job } = await exportJob(["-p", "shard=3", "-p", "pad=10000"]);
    const pod = await runPod(job);
    expect(pod.code, pod.stderr).toBe(0);
    expect(pod.record.result!.padding.length).toBe(10000);
    expect(Buffer.byteLength(pod.message)).toBeLessThanOrEqual(4096);
    expect(JSON.parse(pod.message)).toMatchObject({ status: "completed", runId: pod.record.runId, truncated: true });
  });

  it("bad parameters: exit 2, every bad line named, nothing written", async () => {
    const out = join(work, "never.yaml");
    const bad = await flowpack(["export", "kubernetes", manifest, "-p", "shard=x", "-o", out], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("shard");
    const sets = join(work, "bad-sets.jsonl");
    writeFileSync(sets, '{"shard":0}\n{"shard":"one"}\n{"shard":2,"typo":1}\n');
    const each = await flowpack(["export", "kubernetes", manifest, "--each", sets, "-o", out], { env });
    expect(each.code).toBe(2);
    expect(each.stderr).toContain("line 2: shard");
    expect(each.stderr).toContain("line 3");
    const mixed = await flowpack(["export", "kubernetes", manifest, "--each", sets, "-p", "shard=1", "-o", out], { env });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("--each takes every parameter from its file");
    expect(existsSync(out)).toBe(false);
  });

  it("--env values never reach stderr; the YAML says they are plain text and offers --env-from-secret", async () => {
    const secret = `value-${Math.random().toString(36).slice(2)}`;
    const r = await flowpack(["export", "kubernetes", manifest, "-p", "shard=1", "--env", `TOKEN=${secret}`, "--env-from-secret", "etl-secrets"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(secret);
    expect(r.stdout).toContain("plain text");
    const job = parse(r.stdout) as Job;
    expect(job.spec!.template.spec!.containers[0]!.envFrom).toEqual([{ secretRef: { name: "etl-secrets" } }]);
  });
});
