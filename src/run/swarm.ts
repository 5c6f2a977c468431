import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type Docker from "dockerode";
import type { FlowEnv } from "../_internal/env-vars.js";
import { STOP_MARGIN_MS, stopGraceMs, stopSignalOf } from "../_internal/stop.js";
import { formatDuration, parseCpus, parseDuration, parseMemory } from "../_internal/units.js";
import { connectDaemon } from "../engine/client.js";
import { daemonAddress } from "../engine/endpoint.js";
import { reasonOf } from "../engine/engine-error.js";
import { demux } from "../engine/stream.js";
import {
  assertSwarmManager,
  createService,
  describeNode,
  inspectNode,
  removeService,
  scaleToZero,
  serviceLogs,
  serviceSpec,
  serviceTasks,
  TERMINAL_TASK_STATES,
  type SwarmNode,
  type SwarmTask,
} from "../engine/service.js";
import { InterruptedError, isFlowpackError, SwarmTaskError, SwarmUnavailableError, UsageError } from "../errors.js";
import { slugify } from "../flow/name.js";
import { containerRunnerEnv, RUNNER_ENV } from "../manifest/runner-env.js";
import type { DockerPackageManifest } from "../manifest/schema.js";
import type { Credentials } from "../registry/keychain.js";
import { assertPinned, pullOptions } from "./docker.js";
import { errorFromRunnerOutput } from "./error-record.js";
import { imageSource } from "./image-source.js";
import type { RunRecord } from "./local.js";

export interface SwarmRunOptions {
  /** Placement constraints, as `docker service create --constraint` takes them (`node.role==worker`). */
  constraints?: string[];
  /** CPU limit of the task's container: 0.5, 2 (or the string a flag gave). */
  cpus?: number | string;
  /** Memory limit: bytes, or `256m`, `1g`. */
  memory?: number | string;
  /** A swarm-scoped (overlay) network to attach the service to. */
  network?: string;
  /** The flow's environment variables: in the task's container spec, never logged. */
  env?: FlowEnv;
  /** Where the flow's logs (the task's stderr) go as they arrive. Default: this process's stderr. */
  onLog?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /** This side's environment: DOCKER_HOST (a manager), DOCKER_CONFIG (registry credentials), FLOWPACK_* settings. */
  hostEnv?: NodeJS.ProcessEnv;
  /** Run a registry image named by tag only. */
  allowUnpinned?: boolean;
}

/** A run record from a swarm, with the node that ran it. */
export interface SwarmRunRecord extends RunRecord {
  /** The node's hostname and ID, as `describeNode` names it. */
  node: string;
  nodeId: string;
}

/** What following a task found out beyond its end: its node once it had one, and whether that node was lost. */
interface TaskWatch {
  nodeLost: boolean;
  node?: string;
}

/** How often the task is looked at. */
const POLL_MS = 250;
/** How long a task may wait for a node before the run fails (FLOWPACK_SWARM_PENDING_TIMEOUT). */
const DEFAULT_PENDING_TIMEOUT_MS = 30_000;
/**
 * How long the followed stdout may lag the task's end before it is fetched again unfollowed (from
 * the node's log, complete once the container has exited). Measured here: the record arrives on the
 * followed stream within a few ms of the task's end; a task killed before it wrote one has none.
 */
const OUTPUT_LAG_MS = 1_500;
/** States in which no node has taken the task yet. */
const UNASSIGNED = new Set(["new", "allocated", "pending"]);

/**
 * Runs a docker manifest's flow once on a Docker Swarm: one service of one replica that is never
 * restarted, from the digest-pinned registry image, with the manifest, parameters and the flow's
 * env given to the runner as `--on docker` gives them. Its stderr (the flow's logs) is streamed as
 * it arrives, its stdout read for the runner's JSON record — the only source of success. The service
 * is removed on every way out, and the run waits (bounded) until its task is gone from the swarm.
 */
export async function runOnSwarm(manifest: DockerPackageManifest, params: Record<string, unknown>, options: SwarmRunOptions = {}): Promise<SwarmRunRecord> {
  const swarm = await connectSwarm(manifest, options);
  return swarm.run(params, { signal: options.signal, onLog: options.onLog });
}

/** A manifest made ready to run on a swarm: checked, connected, credentials read, once for many runs. */
export interface SwarmSession {
  run(params: Record<string, unknown>, options?: { signal?: AbortSignal; onLog?: (chunk: Buffer) => void; runId?: string }): Promise<SwarmRunRecord>;
}

/**
 * Everything a swarm run needs that does not depend on its parameters: the image must be a pinned
 * registry image (a node pulls it; an OCI layout or archive exists on this machine only), the
 * options valid, the endpoint a swarm manager, and the registry credentials read from the docker
 * config. Fails before any service exists.
 */
export async function connectSwarm(manifest: DockerPackageManifest, options: SwarmRunOptions = {}): Promise<SwarmSession> {
  const env = options.hostEnv ?? process.env;
  const source = imageSource(manifest.image);
  if (source.kind !== "registry") {
    const what = { "oci-layout": "an OCI layout", "docker-archive": "a docker archive", daemon: "an image of one Docker daemon" }[source.kind];
    throw new UsageError(`--on swarm needs an image in a registry every node can pull; this manifest's image is ${what} (${manifest.image})`, {
      hint: "package the flow again with --registry HOST/NAMESPACE, which pushes the image and pins it by digest",
    });
  }
  if (!options.allowUnpinned) assertPinned(manifest.image);
  const nanoCpus = options.cpus === undefined ? undefined : parseCpus(options.cpus);
  const memoryBytes = options.memory === undefined ? undefined : parseMemory(options.memory);
  const constraints = (options.constraints ?? []).map((c) => c.trim());
  const empty = constraints.find((c) => !/^[^=!]+(==|!=)[^=!]+$/.test(c));
  if (empty !== undefined) throw new UsageError(`--constraint ${JSON.stringify(empty)}: expected NAME==VALUE or NAME!=VALUE (node.role==worker, node.labels.zone==a)`);
  const pendingMs = env.FLOWPACK_SWARM_PENDING_TIMEOUT ? parseDuration(env.FLOWPACK_SWARM_PENDING_TIMEOUT, "FLOWPACK_SWARM_PENDING_TIMEOUT") : DEFAULT_PENDING_TIMEOUT_MS;
  const graceMs = stopGraceMs(env);

  const docker = await connectDaemon(env);
  await assertSwarmManager(docker, daemonAddress(env));
  // only registry images get here (checked above): there is always a registry to pull from
  const pull = pullOptions(manifest.image, env)!;
  const registryHost = pull.registryHost;
  const credentials = await pull.credentials();
  const settings: TaskSettings = { constraints, nanoCpus, memoryBytes, network: options.network, env: options.env ?? {}, pendingMs, graceMs, registryHost, credentials };
  return { run: (params, run = {}) => runTask(docker, manifest, params, settings, run) };
}

interface TaskSettings {
  constraints: string[];
  nanoCpus?: number;
  memoryBytes?: number;
  network?: string;
  env: FlowEnv;
  pendingMs: number;
  graceMs: number;
  registryHost: string;
  credentials?: Credentials;
}

async function runTask(
  docker: Docker,
  manifest: DockerPackageManifest,
  params: Record<string, unknown>,
  settings: TaskSettings,
  run: { signal?: AbortSignal; onLog?: (chunk: Buffer) => void; runId?: string },
): Promise<SwarmRunRecord> {
  const { signal } = run;
  const interrupted = (what: string) => new InterruptedError(`interrupted: ${what}`, { signal: stopSignalOf(signal) });
  if (signal?.aborted) throw interrupted("no service was created");
  const runId = run.runId ?? randomUUID();
  const labels = { "dev.flowpack.run": "1", "dev.flowpack.flow": manifest.flowName, "dev.flowpack.run-id": runId };
  const spec = serviceSpec({
    name: serviceName(manifest.flowName, runId),
    image: manifest.image,
    args: ["--json"],
    env: { ...containerRunnerEnv(manifest, { params }, settings.env), [RUNNER_ENV.runId]: runId, FLOWPACK_STOP_GRACE: String(settings.graceMs / 1000) },
    labels,
    constraints: settings.constraints,
    nanoCpus: settings.nanoCpus,
    memoryBytes: settings.memoryBytes,
    network: settings.network,
    stopGraceMs: settings.graceMs + STOP_MARGIN_MS,
  });
  const serviceId = await createService(docker, spec, { credentials: settings.credentials, registryHost: settings.registryHost });
  const output = new TaskOutput(run.onLog ?? ((chunk) => process.stderr.write(chunk)));
  let ended: { task: SwarmTask; node?: SwarmNode } | undefined;
  const seen: TaskWatch = { nodeLost: false };
  try {
    const logs = await serviceLogs(docker, serviceId, { follow: true, stdout: true, stderr: true });
    output.attach(logs);
    ended = await followTask(docker, serviceId, settings, signal, seen);
    if (!ended) throw interrupted("the service was removed");
    const { task, node } = ended;
    const where = seen.node ?? describeNode(node, task.NodeID);
    const exitCode = task.Status.ContainerStatus?.ExitCode;
    const record = await output.record(OUTPUT_LAG_MS, () => fetchStdout(docker, serviceId));
    // A stop that came once the task had ended with its record does not undo the run's outcome.
    if (record === undefined && signal?.aborted) throw interrupted("the service was removed");
    if (record === undefined) {
      throw new SwarmTaskError(`the task on ${where} ended (${task.Status.State}${exitCode === undefined ? "" : `, exit ${exitCode}`}: ${task.Status.Err ?? task.Status.Message ?? "no reason given"}) without the runner's result`, {
        hint: "its logs are above; was the image built by flowpack (or does it run flowpack's runner)?",
      });
    }
    if (task.Status.State === "complete" && exitCode === 0 && !(record as { error?: unknown }).error) return { ...(record as RunRecord), node: where, nodeId: task.NodeID ?? "" };
    throw errorFromRunnerOutput(record, manifest.flowName, exitCode && exitCode > 0 ? exitCode : 3);
  } catch (caught) {
    // the manager's own failures (gone mid-run, an answer that is not what the API says) are one line, exit 3
    const error = isFlowpackError(caught) ? caught : new SwarmUnavailableError(`the swarm manager failed while the flow ran: ${reasonOf(caught)}`);
    // where it failed, for a batch's result line (not part of the message: that names it already where it matters)
    if (seen.node) Object.defineProperty(error, "node", { value: seen.node, enumerable: false });
    throw error;
  } finally {
    output.close();
    // a lost node reports nothing: waiting for its task to stop would only delay the exit
    await removeAndWait(docker, serviceId, !ended && !seen.nodeLost, settings.graceMs + STOP_MARGIN_MS + 10_000);
  }
}

/**
 * Polls the service's task until it ends, returning it with its node; undefined when `signal`
 * aborted (the caller removes the service, which stops the container). Raises SwarmTaskError as
 * soon as the swarm says it cannot run the task: no node meets the constraints, a node rejected it
 * (its image could not be pulled), it was orphaned, its node went down, or it stayed pending too long.
 */
export async function followTask(
  docker: Docker,
  serviceId: string,
  settings: TaskSettings,
  signal: AbortSignal | undefined,
  seen: TaskWatch,
): Promise<{ task: SwarmTask; node?: SwarmNode } | undefined> {
  const started = performance.now();
  const nodes = new Map<string, SwarmNode | undefined>();
  const nodeOf = async (id: string | undefined, fresh = false) => {
    if (!id) return undefined;
    if (fresh || !nodes.has(id)) nodes.set(id, await inspectNode(docker, id));
    return nodes.get(id);
  };
  let listed = false;
  while (!signal?.aborted) {
    const [task] = await serviceTasks(docker, serviceId);
    if (!task) {
      if (listed) throw new SwarmTaskError("the flow's task disappeared from the swarm: its service was removed by someone else");
      // A manager that never makes the task is bounded like one whose task never leaves pending.
      if (performance.now() - started > settings.pendingMs) {
        throw new SwarmTaskError(`the swarm made no task for the flow's service within ${formatDuration(settings.pendingMs)}`, {
          hint: "see `docker service ps` and the manager's log (FLOWPACK_SWARM_PENDING_TIMEOUT sets how long to wait)",
        });
      }
    } else {
      listed = true;
      const state = task.Status.State;
      const reason = task.Status.Err || task.Status.Message || "no reason given";
      if (UNASSIGNED.has(state)) {
        if (/no suitable node/i.test(task.Status.Err ?? "")) {
          throw new SwarmTaskError(`no node of the swarm can run the flow: ${reason}`, {
            hint: settings.constraints.length ? `check --constraint ${settings.constraints.join(", ")} against \`docker node ls\` / \`docker node inspect\`` : "check the nodes' resources and availability (`docker node ls`)",
          });
        }
        if (performance.now() - started > settings.pendingMs) {
          throw new SwarmTaskError(`the flow's task was still ${state} after ${formatDuration(settings.pendingMs)}: ${reason}`, {
            hint: "no node took it; see `docker node ls` (FLOWPACK_SWARM_PENDING_TIMEOUT sets how long to wait)",
          });
        }
      } else {
        const where = describeNode(await nodeOf(task.NodeID), task.NodeID);
        seen.node = where;
        if (state === "rejected") throw new SwarmTaskError(`${where} rejected the flow's task: ${reason}`, { hint: rejectedHint(reason) });
        if (state === "orphaned") {
          seen.nodeLost = true;
          throw new SwarmTaskError(`the flow's task on ${where} was orphaned: ${reason}`, { hint: "the node is unreachable; see `docker node ls`" });
        }
        if (TERMINAL_TASK_STATES.has(state) && state !== "complete" && state !== "failed") {
          throw new SwarmTaskError(`the flow's task on ${where} was stopped (${state}): ${reason}`);
        }
        if (state === "complete" || state === "failed") return { task, node: await nodeOf(task.NodeID) };
        const node = await nodeOf(task.NodeID, true);
        if (node?.Status?.State === "down" || node?.Status?.State === "disconnected") {
          seen.nodeLost = true;
          throw new SwarmTaskError(`${where} was lost while the flow ran on it (${node.Status.State}: ${node.Status.Message || "no heartbeat"})`, {
            hint: "run it again; see `docker node ls`",
          });
        }
      }
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
  return undefined;
}

function rejectedHint(reason: string): string {
  if (/no such image|pull access denied|not found|unauthorized|authentication required|manifest unknown/i.test(reason)) {
    return "the node could not pull the image: is it in the registry, can that node reach the registry, and are the credentials in this side's docker config (DOCKER_CONFIG)?";
  }
  return "see `docker service ps --no-trunc` while it runs, or the node's daemon log";
}

/** The service's stdout, fetched once (not followed): the fallback when the followed stream lags. */
async function fetchStdout(docker: Docker, serviceId: string): Promise<Buffer> {
  const stream = await serviceLogs(docker, serviceId, { follow: false, stdout: true, stderr: false });
  const chunks: Buffer[] = [];
  await demux(stream, (c) => chunks.push(c), () => undefined);
  return Buffer.concat(chunks);
}

/** The followed logs of a task: stderr passed on as it arrives, stdout kept for the record. */
class TaskOutput {
  readonly #chunks: Buffer[] = [];
  #stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  readonly #onLog: (chunk: Buffer) => void;

  constructor(onLog: (chunk: Buffer) => void) {
    this.#onLog = onLog;
  }

  attach(stream: NodeJS.ReadableStream): void {
    this.#stream = stream;
    // an error of the followed stream (the service removed) is not the run's: the task's state says how it ended
    demux(stream, (c) => this.#chunks.push(c), (c) => this.#onLog(c)).catch(() => undefined);
  }

  /**
   * The runner's JSON record, once all of it has arrived: logs reach the manager after the task
   * ends, so the followed stdout is waited for (up to `lagMs`), then fetched once more unfollowed;
   * undefined when neither holds a record (the runner was killed before it wrote one).
   */
  async record(lagMs: number, fetch: () => Promise<Buffer>): Promise<unknown> {
    const deadline = performance.now() + lagMs;
    for (;;) {
      const parsed = parseRecord(Buffer.concat(this.#chunks));
      if (parsed !== undefined) {
        await sleep(100); // the last stderr lines may trail the result by a frame or two
        return parsed;
      }
      if (performance.now() > deadline) break;
      await sleep(50);
    }
    try {
      return parseRecord(await fetch());
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.#stream?.destroy?.();
  }
}

function parseRecord(stdout: Buffer): unknown {
  const text = stdout.toString("utf8").trim();
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the service. A task that may still run (interrupted, timed out, failed while running) is
 * first stopped by scaling the service to zero, and waited for (bounded: the stop grace and a
 * margin) until its node reports it ended, so its container is stopped before the service goes; the
 * node then removes the container with the service. Errors here never hide the run's own outcome.
 */
async function removeAndWait(docker: Docker, serviceId: string, mayRun: boolean, boundMs: number): Promise<void> {
  try {
    if (mayRun) {
      await scaleToZero(docker, serviceId);
      const deadline = performance.now() + boundMs;
      while (performance.now() < deadline) {
        const tasks = await serviceTasks(docker, serviceId);
        if (tasks.every((t) => TERMINAL_TASK_STATES.has(t.Status.State))) break;
        await sleep(POLL_MS);
      }
    }
  } catch {
    // fall through: remove it anyway
  }
  try {
    await removeService(docker, serviceId);
  } catch {
    // the manager went away: nothing more can be done from here
  }
}

/** `flowpack-<flow slug>-<run id prefix>`: at most 63 characters, as service names must be. */
export function serviceName(flowName: string, runId: string): string {
  const suffix = runId.replace(/[^a-zA-Z0-9]/g, "").slice(0, 12);
  const slug = slugify(flowName).replace(/[^a-zA-Z0-9-]/g, "-").slice(0, 63 - "flowpack--".length - suffix.length).replace(/-+$/, "");
  return `flowpack-${slug}-${suffix}`;
}
