import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack, type CliResult } from "../../helpers/cli.js";
import { containerRuns } from "../../helpers/container-runs.js";
import { docker } from "../../helpers/docker.js";
import { fixture, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { serializeManifest } from "../../../src/manifest/registry.js";
import { DockerPackager } from "../../../src/packagers/docker/packager.js";

/**
 * `flowpack run --on swarm` on the real two-node swarm scripts/services.sh starts: the main dockerd
 * is the manager, a second dockerd (FLOWPACK_TEST_SWARM_WORKER_HOST) the worker. Every run leaves
 * no service on the manager and no container on either node.
 */

const runs = containerRuns("swarm");
const work = runs.work;
let env: NodeJS.ProcessEnv;
let manifest: string;

function paramsFile(name: string, lines: string[]): string {
  const file = join(work, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const onWorker = (args: string[]) => docker(args, { env: { DOCKER_HOST: services().FLOWPACK_TEST_SWARM_WORKER_HOST } });

/** This file's swarm services (by their image's repository) on the manager. */
async function ourServices(): Promise<string[]> {
  const { stdout } = await docker(["service", "ls", "--filter", "label=dev.flowpack.run=1", "--format", "{{.Name}} {{.Image}}"]);
  return stdout.split("\n").filter((line) => line.includes(`/${runs.repository}/`));
}

/** This file's flow containers on one node (running or not). */
async function ourContainers(on: typeof docker | typeof onWorker): Promise<string[]> {
  const { stdout } = await on(["ps", "-a", "--filter", "label=dev.flowpack.run=1", "--format", "{{.ID}} {{.Image}} {{.Status}}"]);
  return stdout.split("\n").filter((line) => line.includes(`/${runs.repository}/`));
}

/**
 * Nothing of this file's runs is left: no service (so no task) on the manager, no container on
 * either node. A node removes a removed service's exited container on its own, shortly after: that
 * is waited for, bounded.
 */
async function expectNothingLeft(): Promise<void> {
  expect(await ourServices()).toEqual([]);
  let left: string[] = [];
  for (let i = 0; i < 60; i++) {
    left = [...(await ourContainers(docker)), ...(await ourContainers(onWorker))];
    if (left.length === 0) break;
    await sleep(250);
  }
  expect(left).toEqual([]);
}

/**
 * A copy of a manifest under a flow name of this file's own: services are named after the flow, so
 * "no service was created" can be checked from the manager's events while other files create theirs.
 * (Such a manifest must never get as far as running: its image's flow has the original name.)
 */
function uniquelyNamed(path: string, what: string): string {
  const copy = JSON.parse(readFileSync(path, "utf8")) as { flowName: string };
  copy.flowName = `${what}-${runs.repository}`;
  const out = join(work, `${what}.json`);
  writeFileSync(out, JSON.stringify(copy));
  return out;
}

/** Services the manager created since `since` (unix seconds) for a manifest from uniquelyNamed(…, what). */
async function servicesCreatedSince(since: string, what: string): Promise<string[]> {
  const events = await docker(["events", "--since", since, "--until", String(Math.floor(Date.now() / 1000) + 1), "--filter", "type=service", "--filter", "event=create", "--format", "{{.Actor.Attributes.name}}"]);
  expect(events.code).toBe(0);
  return events.stdout.split("\n").filter((name) => name.startsWith(`flowpack-${what}-`));
}

/** Runs the CLI until `marker` shows on its stderr, then does `act` (bounded); resolves with its exit code and output. */
async function interruptWhen(args: string[], marker: string, act: (child: ChildProcess) => Promise<void>, childEnv = env): Promise<CliResult> {
  const child = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), ...args], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  for (let i = 0; i < 240 && !stderr.includes(marker) && child.exitCode === null; i++) await sleep(250);
  expect(stderr).toContain(marker);
  await act(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await closed;
  clearTimeout(timer);
  if (child.signalCode === "SIGKILL") throw new Error(`flowpack did not stop: ${stderr}`);
  return { code, stdout, stderr };
}

describe("flowpack run --on swarm (a real two-node swarm)", () => {
  beforeAll(async () => {
    const s = services();
    expect(s.FLOWPACK_TEST_SWARM_WORKER_HOST, "services.sh started no swarm (FLOWPACK_SKIP_SWARM=1?)").toBeTruthy();
    mkdirSync(join(work, "no-config"), { recursive: true });
    env = {
      ...process.env,
      DOCKER_HOST: s.DOCKER_HOST,
      DOCKER_CONFIG: join(work, "no-config"),
      FLOWPACK_CACHE_DIR: join(work, "cache"),
      // the flows here stop at once on SIGTERM or are killed: a short grace keeps stops short
      FLOWPACK_STOP_GRACE: "1",
    };
    manifest = await runs.packageToRegistry(fixture("flows", "greet.ts"), "greet", env);
  });

  it("runs on the worker, which pulls the image by digest, and returns the flow's result; --env reaches the flow", async () => {
    const image = (JSON.parse(readFileSync(manifest, "utf8")) as { image: string }).image;
    const digest = image.slice(image.indexOf("@") + 1);
    const imagesWithDigest = async () =>
      (await onWorker(["image", "ls", "--digests", "--format", "{{.ID}} {{.Digest}}"])).stdout.split("\n").filter((line) => line.endsWith(` ${digest}`)).map((line) => line.split(" ")[0]!);
    const hasImage = async () => (await imagesWithDigest()).length > 0;
    // builds are reproducible: an earlier run of this file pushed (and the worker pulled) the same image
    for (const id of await imagesWithDigest()) await onWorker(["image", "rm", "-f", id]);
    expect(await hasImage()).toBe(false);

    const r = await flowpack(["run", manifest, "--on", "swarm", "--constraint", "node.role==worker", "-p", "name=ann", "-e", "GREET_MOOD=sunny", "--json"], { env });
    expect(r.stderr).toContain('INFO  greet: greeting {"name":"ann"}');
    expect(r.code).toBe(0);
    const record = JSON.parse(r.stdout) as { status: string; result: unknown; nodeId: string; node: string };
    expect(record.status).toBe("completed");
    expect(record.result).toEqual({ greeting: "hello ann", mood: "sunny" });
    expect(record.nodeId).toBe(services().FLOWPACK_TEST_SWARM_WORKER_NODE);
    expect(record.node).toContain("(worker)");
    expect(await hasImage()).toBe(true);
    await expectNothingLeft();
  });

  it("a node label picks the manager", async () => {
    const r = await flowpack(["run", manifest, "--on", "swarm", "--constraint", "node.labels.dev.flowpack.node==manager", "-p", "name=bo", "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as { result: unknown; nodeId: string };
    expect(record.result).toEqual({ greeting: "hello bo", mood: null });
    expect(record.nodeId).toBe(services().FLOWPACK_TEST_SWARM_MANAGER_NODE);
    await expectNothingLeft();
  });

  it("a flow that throws: exit 1 with its message", async () => {
    const r = await flowpack(["run", manifest, "--on", "swarm", "-p", "name=cy", "-p", "fail=true"], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('flowpack: error: flow "greet" failed: cannot greet cy');
    await expectNothingLeft();
  });

  it("bad parameters: exit 2 before any service is created", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const r = await flowpack(["run", uniquelyNamed(manifest, "bad-params"), "--on", "swarm", "-p", "seconds=soon"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("name");
    expect(await servicesCreatedSince(since, "bad-params")).toEqual([]);
  });

  it("an image no node can pull: exit 3 naming the node and the swarm's reason", async () => {
    const missing = join(work, "missing.json");
    const text = readFileSync(manifest, "utf8").replace(/@sha256:[0-9a-f]{64}/, `@sha256:${"0".repeat(64)}`);
    writeFileSync(missing, text);
    const r = await flowpack(["run", missing, "--on", "swarm", "--constraint", "node.role==worker", "-p", "name=dee"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/flowpack: error: node \S+ \(worker\) \w+ rejected the flow's task: No such image: .*sha256:0{64}/);
    await expectNothingLeft();
  });

  it("a constraint no node meets: exit 3 as soon as the swarm says so", async () => {
    const r = await flowpack(["run", manifest, "--on", "swarm", "--constraint", "node.labels.zone==mars", "-p", "name=eve"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("flowpack: error: no node of the swarm can run the flow: no suitable node (scheduling constraints not satisfied on 2 nodes)");
    await expectNothingLeft();
  });

  it("Ctrl-C removes the service and its container on the node that ran it: exit 130", async () => {
    const r = await interruptWhen(["run", manifest, "--on", "swarm", "--constraint", "node.role==worker", "-p", "name=fay", "-p", "seconds=120"], "greeting", async (child) => {
      expect(await ourContainers(onWorker)).toHaveLength(1);
      child.kill("SIGINT");
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("interrupted: the service was removed");
    await expectNothingLeft();
  });

  it("--timeout stops the run and removes the service: exit 3", async () => {
    const r = await flowpack(["run", manifest, "--on", "swarm", "--timeout", "2s", "-p", "name=gus", "-p", "seconds=120"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("flowpack: error: timed out after 2s; the run was stopped and what it started removed");
    await expectNothingLeft();
  });

  it("a task whose container is killed mid-run: exit 3 naming the node and the swarm's reason", async () => {
    const r = await interruptWhen(["run", manifest, "--on", "swarm", "--constraint", "node.role==worker", "-p", "name=hal", "-p", "seconds=120"], "greeting", async () => {
      const [line] = await ourContainers(onWorker);
      expect(line).toBeDefined();
      expect((await onWorker(["kill", line!.split(" ")[0]!])).code).toBe(0);
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/flowpack: error: the task on node \S+ \(worker\) \w+ ended \(failed, exit 137: task: non-zero exit \(137\)\) without the runner's result/);
    await expectNothingLeft();
  });

  it("a node lost mid-run (the worker's dockerd frozen): exit 3 naming the node and the swarm's reason; nothing left once it is back", async () => {
    // SIGSTOP/SIGCONT of the worker daemon services.sh started: it stops answering heartbeats and
    // comes back as it was, with no restart to get wrong
    const pid = Number(readFileSync(join(services().FLOWPACK_SERVICES_DIR, "run", "dockerd-worker.pid"), "utf8").trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("docker-worker");
    let frozen = false;
    try {
      const r = await interruptWhen(["run", manifest, "--on", "swarm", "--constraint", "node.role==worker", "-p", "name=lou", "-p", "seconds=120"], "greeting", async () => {
        process.kill(pid, "SIGSTOP");
        frozen = true;
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/flowpack: error: node \S+ \(worker\) \w+ was lost while the flow ran on it \(down: heartbeat failure\)/);
      expect(await ourServices()).toEqual([]);
    } finally {
      if (frozen) process.kill(pid, "SIGCONT");
    }
    for (let i = 0; i < 120; i++) {
      const { stdout } = await docker(["node", "inspect", "--format", "{{.Status.State}}", services().FLOWPACK_TEST_SWARM_WORKER_NODE]);
      if (stdout.trim() === "ready") break;
      await sleep(250);
    }
    await expectNothingLeft();
  });

  it("auth registry: the worker pulls with the credentials flowpack passes; the password is in no output and not in `docker service inspect`", async () => {
    const { FLOWPACK_TEST_AUTH_REGISTRY: registry, FLOWPACK_TEST_AUTH_USER: user, FLOWPACK_TEST_AUTH_PASSWORD: password } = services();
    const config = join(work, "auth-config");
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "config.json"), JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } } }));
    const authEnv = { ...env, DOCKER_CONFIG: config };
    const packaged = await new DockerPackager({ env: authEnv, builder: "oci", baseImage: services().FLOWPACK_TEST_BASE_IMAGE, registryUrl: `${registry}/${runs.repository}` }).package(fixture("flows", "greet.ts"));
    const authManifest = join(work, "greet-auth.json");
    writeFileSync(authManifest, serializeManifest(packaged));

    // without credentials the worker cannot pull it: the swarm's own reason, exit 3
    const denied = await flowpack(["run", authManifest, "--on", "swarm", "--constraint", "node.role==worker", "-p", "name=kim"], { env });
    expect(denied.code).toBe(3);
    // swarm (20.10) reports a pull that was refused as "No such image"
    expect(denied.stderr).toMatch(/rejected the flow's task: (No such image|.*no basic auth credentials|.*unauthorized|.*pull access denied)/);
    await expectNothingLeft();

    let inspected = "";
    const r = await interruptWhen(
      ["run", authManifest, "--on", "swarm", "--constraint", "node.role==worker", "--cpus", "0.5", "--memory", "256m", "-p", "name=kim", "-p", "seconds=2", "--json"],
      "greeting",
      async () => {
        const [service] = await ourServices();
        inspected = (await docker(["service", "inspect", service!.split(" ")[0]!])).stdout;
      },
      authEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { result: unknown }).result).toEqual({ greeting: "hello kim", mood: null });
    const spec = (JSON.parse(inspected) as { Spec: { TaskTemplate: { Resources: unknown; ContainerSpec: Record<string, unknown> } } }[])[0]!.Spec.TaskTemplate;
    expect(spec.Resources).toEqual({ Limits: { NanoCPUs: 500_000_000, MemoryBytes: 256 * 1024 ** 2 } });
    // what flowpack sent as X-Registry-Auth: base64 of the JSON auth config (the swarm's worker keeps it, see the README)
    const basic = Buffer.from(`${user}:${password}`).toString("base64");
    const header = Buffer.from(JSON.stringify({ username: user, password, serveraddress: registry })).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    expect(inspected).toContain('"Image"');
    for (const text of [r.stdout, r.stderr, denied.stderr, inspected]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(basic);
      expect(text).not.toContain(header.slice(0, 40));
    }
    await expectNothingLeft();
  });

  it("a manifest whose image is only in an OCI layout is refused: a swarm node cannot pull it", async () => {
    const layoutManifest = join(work, "layout.json");
    const text = JSON.parse(readFileSync(manifest, "utf8")) as { image: string };
    text.image = `oci:${work}/layout@sha256:${"1".repeat(64)}`;
    writeFileSync(layoutManifest, JSON.stringify(text));
    const r = await flowpack(["run", layoutManifest, "--on", "swarm", "-p", "name=ivy"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--on swarm needs an image in a registry every node can pull");
  });

  it("a daemon that is no swarm manager: exit 3 saying how to get one", async () => {
    const r = await flowpack(["run", manifest, "--on", "swarm", "-p", "name=jo"], { env: { ...env, DOCKER_HOST: services().FLOWPACK_TEST_SWARM_WORKER_HOST } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("is not a swarm manager");
    expect(r.stderr).toContain("docker swarm init");
  });

  // --each on the swarm: in this file, as the node-lost test above freezes the worker for a while
  it("--each, 12 parameter sets, --concurrency 4: 12 results in input order, tasks on both nodes, a failing set reported without stopping the others", async () => {
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify(i === 7 ? { name: `n${i}`, fail: true } : { name: `n${i}`, seconds: 1 }));
    const r = await flowpack(["run", manifest, "--on", "swarm", "--each", paramsFile("twelve.jsonl", lines), "--concurrency", "4"], { env, timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(1);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { index: number; line: number; ok: boolean; result?: unknown; error?: { code: string; message: string }; node: string });
    expect(out.map((l) => [l.index, l.line, l.ok])).toEqual(Array.from({ length: 12 }, (_, i) => [i, i + 1, i !== 7]));
    out.filter((l) => l.ok).forEach((l) => expect(l.result).toEqual({ greeting: `hello n${l.index}`, mood: null }));
    expect(out[7]!.error).toEqual({ code: "FLOW_FAILED", message: 'flow "greet" failed: cannot greet n7' });
    expect(out[7]!.node).toMatch(/^node \S+ \((worker|manager)\) /);
    const nodes = [...new Set(out.map((l) => l.node))];
    expect(nodes.some((n) => n.includes("(worker)"))).toBe(true);
    expect(nodes.some((n) => n.includes("(manager)"))).toBe(true);
    expect(r.stderr).toMatch(/\[#3\] .*greeting \{"name":"n3"\}/);
    expect(r.stderr).toContain("flowpack: error: 1 of 12 runs did not succeed (line 8)");
    await expectNothingLeft();
  });

  it("--each: a file with two bad lines is refused, every bad line named, before any service is created: exit 2", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const lines = [JSON.stringify({ name: "a" }), JSON.stringify({ name: 5 }), JSON.stringify({ name: "c" }), JSON.stringify({ nom: "d" })];
    const r = await flowpack(["run", uniquelyNamed(manifest, "bad-lines"), "--on", "swarm", "--each", paramsFile("bad.jsonl", lines), "--concurrency", "4"], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("line 2");
    expect(r.stderr).toContain("line 4");
    expect(await servicesCreatedSince(since, "bad-lines")).toEqual([]);
  });

  it("--each: Ctrl-C removes every running service, starts no more, exits 130 and leaves nothing", async () => {
    const lines = [1, 2, 3, 4].map((i) => JSON.stringify({ name: `s${i}`, seconds: 120 }));
    const r = await interruptWhen(["run", manifest, "--on", "swarm", "--each", paramsFile("slow.jsonl", lines), "--concurrency", "2"], "greeting", async (child) => {
      child.kill("SIGINT");
    });
    expect(r.code).toBe(130);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string } });
    expect(out).toHaveLength(4);
    expect(out.every((l) => !l.ok)).toBe(true);
    await expectNothingLeft();
  });
});
