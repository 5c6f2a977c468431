import { describe, expect, it } from "vitest";
import { z } from "zod";
import { RunTimeoutError, SwarmTaskError, UsageError } from "../../src/errors.js";
import { serviceSpec } from "../../src/engine/service.js";
import { flow } from "../../src/flow/flow.js";
import { baseManifest } from "../../src/manifest/registry.js";
import { formatDuration, parseCpus, parseDuration, parseMemory } from "../../src/_internal/units.js";
import { runManifest } from "../../src/run/manifest.js";
import { followTask, serviceName } from "../../src/run/swarm.js";
import { withRunTimeout } from "../../src/run/timeout.js";

const add = flow({ name: "add", parameters: z.object({ a: z.number() }) }, async ({ a }) => a);
const inImage = (image: string) => baseManifest("docker", add).finalize({ image, imageFlowLocation: "/opt/flowpack/flow.mjs" });
const digest = `sha256:${"a".repeat(64)}`;
const noDaemon = { hostEnv: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } };
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe("units of the run flags", () => {
  it("durations: a unit or seconds; zero, negative and junk are refused naming the flag", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("2")).toBe(2000);
    for (const bad of ["0s", "-1s", "soon", "5 days", ""]) expect(() => parseDuration(bad)).toThrow(UsageError);
    expect(() => parseDuration("soon")).toThrow('--timeout "soon": expected a number with a unit');
    expect(formatDuration(2000)).toBe("2s");
    expect(formatDuration(300_000)).toBe("5m");
    expect(formatDuration(1500)).toBe("1.5s");
  });

  it("memory as docker takes it; cpus as NanoCPUs", () => {
    expect(parseMemory("256m")).toBe(256 * 1024 ** 2);
    expect(parseMemory("1g")).toBe(1024 ** 3);
    expect(parseMemory("1GB")).toBe(1024 ** 3);
    expect(parseMemory(8 * 1024 ** 2)).toBe(8 * 1024 ** 2);
    expect(() => parseMemory("1k")).toThrow("at least 6m");
    expect(() => parseMemory("lots")).toThrow(UsageError);
    expect(parseCpus("0.5")).toBe(500_000_000);
    expect(parseCpus(2)).toBe(2_000_000_000);
    expect(() => parseCpus("0")).toThrow("--cpus");
    expect(() => parseCpus("-1")).toThrow(UsageError);
  });
});

describe("withRunTimeout", () => {
  it("aborts the run's signal when the time is up and reports RunTimeoutError, however the run ended", async () => {
    const stopped = withRunTimeout(20, undefined, (signal) => new Promise((_, reject) => signal!.addEventListener("abort", () => reject(new Error("stopped")))));
    const error = await rejection(stopped);
    expect(error).toBeInstanceOf(RunTimeoutError);
    expect((error as RunTimeoutError).exitCode).toBe(3);
    expect((error as Error).message).toBe("timed out after 20ms; the run was stopped and what it started removed");
    const finishedLate = withRunTimeout(20, undefined, (signal) => new Promise((resolve) => signal!.addEventListener("abort", () => resolve("done anyway"))));
    expect(await rejection(finishedLate)).toBeInstanceOf(RunTimeoutError);
  });

  it("a timed-out run keeps the node it was on (for a batch's result line)", async () => {
    const run = withRunTimeout(20, undefined, (signal) =>
      new Promise((_, reject) => signal!.addEventListener("abort", () => reject(Object.defineProperty(new Error("stopped"), "node", { value: "node box (worker) n1" })))),
    );
    const error = await rejection(run);
    expect(error).toBeInstanceOf(RunTimeoutError);
    expect((error as { node?: string }).node).toBe("node box (worker) n1");
  });

  it("a Ctrl-C before the deadline stays a stop when the run's cleanup outlasts the deadline", async () => {
    const controller = new AbortController();
    // the run takes 60 ms to clean up after its signal aborts; the deadline (20 ms) passes meanwhile
    const run = withRunTimeout(20, controller.signal, (signal) =>
      new Promise((_, reject) => signal!.addEventListener("abort", () => setTimeout(() => reject(new Error(`stopped: ${String(signal!.reason)}`)), 60))),
    );
    setTimeout(() => controller.abort("SIGINT"), 5);
    const error = await rejection(run);
    expect(error).not.toBeInstanceOf(RunTimeoutError);
    expect((error as Error).message).toBe("stopped: SIGINT");
  });

  it("passes the caller's own abort (Ctrl-C) through with its reason, and a result in time", async () => {
    const controller = new AbortController();
    const run = withRunTimeout(60_000, controller.signal, (signal) => new Promise((_, reject) => signal!.addEventListener("abort", () => reject(new Error(String(signal!.reason))))));
    controller.abort("SIGINT");
    expect(((await rejection(run)) as Error).message).toBe("SIGINT");
    expect(await withRunTimeout(60_000, undefined, async () => 7)).toBe(7);
  });
});

describe("the swarm service of one run", () => {
  it("is a one-replica replicated service that never restarts, with limits, constraints, labels and env", () => {
    const spec = serviceSpec({
      name: "flowpack-add-abc",
      image: `r.example/f/add:fp-1@${digest}`,
      args: ["--json"],
      env: { A: "1" },
      labels: { "dev.flowpack.run": "1" },
      constraints: ["node.role==worker"],
      nanoCpus: 500_000_000,
      memoryBytes: 1024 ** 3,
      network: "flows",
      stopGraceMs: 3000,
    });
    expect(spec).toEqual({
      Name: "flowpack-add-abc",
      Labels: { "dev.flowpack.run": "1" },
      TaskTemplate: {
        ContainerSpec: { Image: `r.example/f/add:fp-1@${digest}`, Args: ["--json"], Env: ["A=1"], Labels: { "dev.flowpack.run": "1" }, TTY: false, StopGracePeriod: 3_000_000_000 },
        RestartPolicy: { Condition: "none", MaxAttempts: 0 },
        Placement: { Constraints: ["node.role==worker"] },
        Resources: { Limits: { NanoCPUs: 500_000_000, MemoryBytes: 1024 ** 3 } },
        Networks: [{ Target: "flows" }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
  });

  it("is named flowpack-<flow>-<run id>, at most 63 characters of [a-zA-Z0-9-]", () => {
    expect(serviceName("etl", "3f1c2b7e-0000-4000-8000-000000000000")).toBe("flowpack-etl-3f1c2b7e0000");
    const long = serviceName("a.very_long.flow-name".repeat(5), "3f1c2b7e-0000");
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-zA-Z0-9-]+$/);
  });
});

describe("runManifest --on swarm: refused before anything starts", () => {
  it("swarm-only flags on another target, naming them", async () => {
    const manifest = inImage(`127.0.0.1:5000/f/add:fp-1@${digest}`);
    const error = await rejection(runManifest(manifest, { a: 1 }, { on: "docker", constraints: ["node.role==worker"], memory: "1g", ...noDaemon }));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe("--constraint, --memory applies to --on swarm only (this run is --on docker)");
  });

  it("a constraint without a value", async () => {
    const error = await rejection(runManifest(inImage(`127.0.0.1:5000/f/add:fp-1@${digest}`), { a: 1 }, { on: "swarm", constraints: ["node.role=="], ...noDaemon }));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^--constraint "node.role==": expected NAME==VALUE/);
  });

  it("an image no node could pull (OCI layout, daemon image ID), and an unpinned one", async () => {
    for (const image of [`oci:/tmp/layout@${digest}`, digest]) {
      const error = await rejection(runManifest(inImage(image), { a: 1 }, { on: "swarm", ...noDaemon }));
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toContain("--on swarm needs an image in a registry every node can pull");
    }
    const unpinned = await rejection(runManifest(inImage("127.0.0.1:5000/f/add:fp-1"), { a: 1 }, { on: "swarm", ...noDaemon }));
    expect((unpinned as Error).message).toContain("is not pinned to a digest");
  });

  it("a malformed constraint or limit, before the daemon is asked", async () => {
    const manifest = inImage(`127.0.0.1:5000/f/add:fp-1@${digest}`);
    expect(((await rejection(runManifest(manifest, { a: 1 }, { on: "swarm", constraints: ["node.role"], ...noDaemon }))) as Error).message).toContain('--constraint "node.role": expected NAME==VALUE');
    expect(await rejection(runManifest(manifest, { a: 1 }, { on: "swarm", cpus: "many", ...noDaemon }))).toBeInstanceOf(UsageError);
  });
});

describe("following a swarm task (an in-process fake manager, for the states a real swarm rarely shows)", () => {
  type FakeTask = { ID: string; NodeID?: string; Status: { State: string; Err?: string; Message?: string; Timestamp?: string; ContainerStatus?: { ExitCode?: number } } };
  const settings = { constraints: ["node.role==worker"], env: {}, pendingMs: 200, graceMs: 0, registryHost: "r.example" };
  function fakeManager(states: FakeTask[][], nodeState = "ready") {
    let call = 0;
    return {
      listTasks: async () => states[Math.min(call++, states.length - 1)],
      getNode: (id: string) => ({ inspect: async () => ({ ID: id, Description: { Hostname: "box" }, Spec: { Labels: { "dev.flowpack.node": "worker" } }, Status: { State: nodeState, Message: "heartbeat failure" } }) }),
    } as never;
  }
  const task = (State: string, extra: Partial<FakeTask["Status"]> = {}, NodeID: string | undefined = "node1234567890"): FakeTask => ({ ID: "t1", NodeID, Status: { State, ...extra } });

  it("a task pending past the deadline: SwarmTaskError with the state and the swarm's reason", async () => {
    const error = await rejection(followTask(fakeManager([[task("pending", { Message: "pending task scheduling" }, undefined)]]), "s1", settings, undefined, { nodeLost: false }));
    expect(error).toBeInstanceOf(SwarmTaskError);
    expect((error as Error).message).toBe("the flow's task was still pending after 200ms: pending task scheduling");
  });

  it("rejected and orphaned tasks name the node; a node that went down while running is a lost node", async () => {
    const watch: { nodeLost: boolean; node?: string } = { nodeLost: false };
    const rejected = await rejection(followTask(fakeManager([[task("rejected", { Err: "No such image: x@sha256:00" })]]), "s1", settings, undefined, watch));
    expect((rejected as Error).message).toBe("node box (worker) node12345678 rejected the flow's task: No such image: x@sha256:00");
    expect(watch.node).toBe("node box (worker) node12345678"); // a batch's failed line names it
    const seen = { nodeLost: false };
    const orphaned = await rejection(followTask(fakeManager([[task("orphaned", { Message: "node is down" })]]), "s1", settings, undefined, seen));
    expect((orphaned as Error).message).toBe("the flow's task on node box (worker) node12345678 was orphaned: node is down");
    expect(seen.nodeLost).toBe(true);
    const lost = { nodeLost: false };
    const down = await rejection(followTask(fakeManager([[task("running")]], "down"), "s1", settings, undefined, lost));
    expect(down).toBeInstanceOf(SwarmTaskError);
    expect((down as Error).message).toBe("node box (worker) node12345678 was lost while the flow ran on it (down: heartbeat failure)");
    expect(lost.nodeLost).toBe(true);
  });

  it("returns the ended task; a service removed by someone else is an error; an abort returns nothing", async () => {
    const ended = await followTask(fakeManager([[task("running")], [task("complete", { ContainerStatus: { ExitCode: 0 } })]]), "s1", settings, undefined, { nodeLost: false });
    expect(ended?.task.Status.State).toBe("complete");
    const gone = await rejection(followTask(fakeManager([[task("running")], []]), "s1", settings, undefined, { nodeLost: false }));
    expect((gone as Error).message).toContain("its service was removed by someone else");
    const controller = new AbortController();
    controller.abort("SIGINT");
    expect(await followTask(fakeManager([[task("running")]]), "s1", settings, controller.signal, { nodeLost: false })).toBeUndefined();
  });
});
