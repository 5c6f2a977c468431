import { hostname } from "node:os";
import { withProcessEnv, type FlowEnv } from "../_internal/env-vars.js";
import { UsageError } from "../errors.js";
import type { PackageManifest } from "../manifest/registry.js";
import { RUNNER_ENV } from "../manifest/runner-env.js";
import { unpackage } from "../packagers/unpackage.js";
import type { EngineApi } from "../engine/api.js";
import { prepareContainerRuns, runPrepared } from "./docker.js";
import { imageSource } from "./image-source.js";
import { runFromLayout } from "./layout.js";
import { runFlow, type RunRecord } from "./local.js";
import type { Parameters } from "./parameters.js";
import type { SwarmOnlyOptions } from "./swarm-options.js";
import { connectSwarm } from "./swarm.js";

/** What every run of a batch shares, whatever the target: the flow's env, this side's env, the stop signal. */
export interface BatchPrepareOptions extends SwarmOnlyOptions {
  /** The flow's environment variables (never logged). */
  env: FlowEnv;
  /** This side's environment: the daemon (DOCKER_HOST, TLS), registry credentials. */
  hostEnv: NodeJS.ProcessEnv;
  /** Aborts preparing (a pull) and, passed to each run, stops what runs. */
  signal?: AbortSignal;
  /** Docker network mode of each container. */
  network?: string;
  /** Run a registry image named by tag only. */
  allowUnpinned?: boolean;
  /** Names the manifest in errors. */
  source: string;
}

export interface BatchRunOptions {
  /** Aborts on a stop (reason "SIGINT"/"SIGTERM") or when the run's --timeout runs out (reason "timeout"): the run stops and removes what it started. */
  signal?: AbortSignal;
  /** The run's logs (its stderr), when the target can separate them; in-process runs write to this process's stderr. */
  onLog?: (chunk: Buffer) => void;
}

/** A run's record, with the node it ran on when the target knows it per run (a cluster task's node). */
export type BatchRunRecord = RunRecord & { node?: string };

/** A manifest made ready for many runs on one target. */
export interface PreparedBatch {
  /** Where the runs happen unless a record names its own node: this host's name, the docker daemon's name. */
  readonly node: string;
  /** Runs one parameter set (already validated) to its end; throws the run's error with its class and exit code. */
  run(params: Parameters, options: BatchRunOptions): Promise<BatchRunRecord>;
  /** Releases what prepare made (optional). */
  close?(): Promise<void>;
}

/**
 * A place a batch (`--each`) runs: prepare once for the whole batch — check the manifest fits,
 * connect, resolve credentials, pull or load the image — then run one parameter set per call.
 */
export interface BatchTarget {
  /** Runs at once when the caller does not say (`--concurrency`). */
  readonly defaultConcurrency: number;
  prepare(manifest: PackageManifest, options: BatchPrepareOptions): Promise<PreparedBatch>;
}

/**
 * In this process. One at a time by default: runs here share one process (its environment, which
 * a run with --env changes in place, its console and its event loop), so a CPU-bound flow gains
 * nothing from more; an I/O-bound one may ask for more with --concurrency.
 */
const local: BatchTarget = {
  defaultConcurrency: 1,
  async prepare(manifest, options) {
    if (options.network !== undefined) throw new UsageError("--network applies to runs in a container (--on docker) only");
    const node = hostname();
    const stop = (signal?: AbortSignal) => (signal ? { signal } : {});
    if (manifest.type === "docker") {
      const image = imageSource(manifest.image);
      if (image.kind !== "oci-layout" || process.env[RUNNER_ENV.flowLocation]) {
        throw new UsageError(`--on local cannot run ${options.source} with --each: its flow is inside the image ${manifest.image}`, {
          hint: "--each --on local runs file manifests and OCI layouts; use --on docker",
        });
      }
      return { node, run: (params, run) => runFromLayout(manifest, image.dir, image.digest, params, { ...stop(run.signal), env: options.env }) };
    }
    // Loaded once for the whole batch, with the flow's variables set: a flow may read them when it loads.
    const flow = await withProcessEnv("inherit", options.env, () => unpackage(manifest));
    return { node, run: (params, run) => withProcessEnv("inherit", options.env, () => runFlow(flow, params, undefined, stop(run.signal))) };
  },
};

/**
 * In containers on one docker daemon, 4 at a time by default: each run is its own container (own
 * process, own env), so runs overlap the daemon's create/start/remove round trips and the flows'
 * own waiting; beyond ~2 per core a small machine only queues them (the bench measures it).
 */
const docker: BatchTarget = {
  defaultConcurrency: 4,
  async prepare(manifest, options) {
    if (manifest.type !== "docker") throw new UsageError(`--on docker needs a docker manifest; this one is "${manifest.type}"`);
    const prepared = await prepareContainerRuns(manifest, { hostEnv: options.hostEnv, allowUnpinned: options.allowUnpinned, signal: options.signal, pullNow: true });
    const node = await daemonName(prepared.api, options.hostEnv);
    return {
      node,
      run: (params, run) => runPrepared(prepared, params, { env: options.env, network: options.network, signal: run.signal, onLog: run.onLog }),
    };
  },
};

/** The daemon's own name (`docker info`), else where it is reached; asked through the runs' own client (no dockerode). */
async function daemonName(api: EngineApi, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const info = ((await api.request("GET", "/info")).body ?? {}) as { Name?: unknown };
    if (typeof info.Name === "string" && info.Name !== "") return info.Name;
  } catch {
    // the name is for the result lines only: a daemon that cannot say it is reported by where it is reached
  }
  return env.DOCKER_HOST ?? "local docker";
}

/**
 * On a Docker Swarm, 4 at a time by default: prepared once (the manifest checked, the manager
 * asked, the registry credentials read), then one service per run, as `run --on swarm` makes it,
 * placed by the swarm (spread over the nodes) within --constraint. Each record names the node its
 * task ran on. One service per run rather than one replicated-job for the whole batch (tasks picking
 * their parameters by slot): measured here, see the README (Run on a cluster → Fan-out on a swarm).
 */
const swarm: BatchTarget = {
  defaultConcurrency: 4,
  async prepare(manifest, options) {
    if (manifest.type !== "docker") throw new UsageError(`--on swarm needs a docker manifest; this one is "${manifest.type}"`);
    const session = await connectSwarm(manifest, {
      hostEnv: options.hostEnv,
      allowUnpinned: options.allowUnpinned,
      network: options.network,
      env: options.env,
      constraints: options.constraints,
      cpus: options.cpus,
      memory: options.memory,
    });
    return { node: "swarm", run: (params, run) => session.run(params, { signal: run.signal, onLog: run.onLog }) };
  },
};

/**
 * Where `--each` runs, by target name: one entry per target, with its default concurrency. A target
 * missing here is refused by runEach before anything starts.
 */
export const BATCH_TARGETS: Readonly<Record<string, BatchTarget>> = { local, docker, swarm };
