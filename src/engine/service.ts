import { Readable } from "node:stream";
import type Docker from "dockerode";
import * as z from "../_internal/zod-mini.js";
import { SwarmUnavailableError } from "../errors.js";
import type { Credentials } from "../registry/keychain.js";
import { withTimeout } from "./client.js";
import { reasonOf } from "./engine-error.js";
import { engineAuthConfig } from "./push.js";

/**
 * The swarm side of the Docker Engine API (a manager's /swarm, /services, /tasks, /nodes), for
 * `flowpack run --on swarm`. Answers are checked with zod where flowpack decides on them.
 */

/** A task's state as the swarm reports it (docker/swarmkit api.TaskState, lower-case names). */
export const TERMINAL_TASK_STATES = new Set(["complete", "failed", "shutdown", "rejected", "orphaned", "remove"]);

const taskSchema = z.looseObject({
  ID: z.string(),
  NodeID: z.optional(z.string()),
  Slot: z.optional(z.number()),
  DesiredState: z.optional(z.string()),
  Status: z.looseObject({
    State: z.string(),
    Message: z.optional(z.string()),
    Err: z.optional(z.string()),
    Timestamp: z.optional(z.string()),
    ContainerStatus: z.optional(z.looseObject({ ContainerID: z.optional(z.string()), ExitCode: z.optional(z.number()) })),
  }),
});
export type SwarmTask = z.infer<typeof taskSchema>;

const nodeSchema = z.looseObject({
  ID: z.string(),
  Description: z.optional(z.looseObject({ Hostname: z.optional(z.string()) })),
  Spec: z.optional(z.looseObject({ Role: z.optional(z.string()), Labels: z.nullish(z.record(z.string(), z.string())) })),
  Status: z.optional(z.looseObject({ State: z.optional(z.string()), Message: z.optional(z.string()), Addr: z.optional(z.string()) })),
});
export type SwarmNode = z.infer<typeof nodeSchema>;

/** What one flow run's service is made of. */
export interface ServiceSpecInput {
  name: string;
  image: string;
  args: string[];
  env: Record<string, string>;
  /** On the service and on its container (so the container can be found on whichever node runs it). */
  labels: Record<string, string>;
  constraints?: string[];
  nanoCpus?: number;
  memoryBytes?: number;
  network?: string;
  /** Between SIGTERM and SIGKILL when the service is removed. */
  stopGraceMs: number;
}

/**
 * The spec of a one-replica `replicated` service whose task is never restarted (RestartPolicy
 * condition none): it runs the container once. Not a `replicated-job`: on Engine 20.10 removing a
 * replicated-job service leaves its running container behind (moby#44312; measured here: still
 * running 28 s after `docker service rm`), while a replicated service's container is stopped and
 * removed with it, which is what cleanup on Ctrl-C and --timeout needs.
 */
export function serviceSpec(input: ServiceSpecInput): Record<string, unknown> {
  const limits = { ...(input.nanoCpus ? { NanoCPUs: input.nanoCpus } : {}), ...(input.memoryBytes ? { MemoryBytes: input.memoryBytes } : {}) };
  return {
    Name: input.name,
    Labels: input.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Args: input.args,
        Env: Object.entries(input.env).map(([k, v]) => `${k}=${v}`),
        Labels: input.labels,
        TTY: false,
        StopGracePeriod: input.stopGraceMs * 1_000_000,
      },
      RestartPolicy: { Condition: "none", MaxAttempts: 0 },
      Placement: input.constraints?.length ? { Constraints: input.constraints } : {},
      Resources: Object.keys(limits).length ? { Limits: limits } : {},
      ...(input.network ? { Networks: [{ Target: input.network }] } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
}

/** Refuses an endpoint that is not a swarm manager, with what to do about it. */
export async function assertSwarmManager(docker: Docker, address: string): Promise<void> {
  try {
    await withTimeout(docker.swarmInspect(), 10_000, "no answer");
  } catch (error) {
    const reason = reasonOf(error);
    throw new SwarmUnavailableError(`the Docker endpoint ${address} is not a swarm manager: ${firstSentence(reason)}`, {
      hint: "point DOCKER_HOST at a manager of the swarm, or make this one a swarm with `docker swarm init`",
    });
  }
}

/**
 * Creates the service and returns its ID. The registry credentials go in the X-Registry-Auth header,
 * as `docker service create --with-registry-auth` sends them: the swarm hands them to the node that
 * pulls. They are never part of a message.
 */
export async function createService(docker: Docker, spec: Record<string, unknown>, pull: { credentials?: Credentials; registryHost: string }): Promise<string> {
  const authconfig = engineAuthConfig(pull.credentials, pull.registryHost);
  try {
    const service = (await (docker.createService as (auth: unknown, opts: unknown) => Promise<unknown>).call(docker, authconfig, spec)) as { id: string };
    return service.id;
  } catch (error) {
    throw new SwarmUnavailableError(`the swarm refused the service ${String(spec.Name)}: ${redact(reasonOf(error), pull.credentials)}`);
  }
}

/** The service's tasks (normally one), newest first. */
export async function serviceTasks(docker: Docker, serviceId: string): Promise<SwarmTask[]> {
  const raw: unknown = await docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) } as never);
  const tasks = z.array(taskSchema).parse(raw);
  return tasks.sort((a, b) => (b.Status.Timestamp ?? "").localeCompare(a.Status.Timestamp ?? ""));
}

export async function inspectNode(docker: Docker, nodeId: string): Promise<SwarmNode | undefined> {
  try {
    return nodeSchema.parse(await docker.getNode(nodeId).inspect());
  } catch {
    return undefined;
  }
}

/** How a node is named in messages: its hostname, its flowpack label when it has one, and its ID. */
export function describeNode(node: SwarmNode | undefined, nodeId: string | undefined): string {
  if (!nodeId) return "no node";
  const host = node?.Description?.Hostname;
  const role = node?.Spec?.Labels?.["dev.flowpack.node"];
  const short = nodeId.slice(0, 12);
  return host ? `node ${host}${role ? ` (${role})` : ""} ${short}` : `node ${short}`;
}

/** The service's logs as the Engine streams them (multiplexed stdout/stderr frames). */
export async function serviceLogs(docker: Docker, serviceId: string, options: { follow: boolean; stdout: boolean; stderr: boolean }): Promise<NodeJS.ReadableStream> {
  const stream: unknown = await docker.getService(serviceId).logs({ ...options } as never);
  if (Buffer.isBuffer(stream)) {
    return Readable.from([stream]);
  }
  return stream as NodeJS.ReadableStream;
}

/**
 * Scales the service to no replica, so the swarm stops its task's container (SIGTERM, SIGKILL after
 * the spec's StopGracePeriod) while the service, and so the task's record, still exist: the caller
 * can wait for the task to end before removing the service. Removing it at once would drop the task
 * from the manager while its container is still stopping on its node.
 */
export async function scaleToZero(docker: Docker, serviceId: string): Promise<void> {
  const service = docker.getService(serviceId);
  const current = z.looseObject({ Version: z.object({ Index: z.number() }), Spec: z.looseObject({}) }).parse(await service.inspect());
  const spec = { ...current.Spec, Mode: { Replicated: { Replicas: 0 } } };
  await service.update({ _query: { version: current.Version.Index }, _body: spec } as never);
}

/** Removes the service; one already gone is fine. */
export async function removeService(docker: Docker, serviceId: string): Promise<void> {
  try {
    await docker.getService(serviceId).remove();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return;
    throw error;
  }
}

function firstSentence(text: string): string {
  const end = text.indexOf(". ");
  return end > 0 ? text.slice(0, end) : text;
}

function redact(text: string, credentials: Credentials | undefined): string {
  let out = text;
  for (const secret of [credentials?.password, credentials?.identityToken, credentials?.registryToken]) {
    if (secret) out = out.split(secret).join("***");
  }
  return out;
}
