import { existsSync } from "node:fs";
import { withProcessEnv, type FlowEnv } from "../_internal/env-vars.js";
import { UsageError } from "../errors.js";
import type { PackageManifest } from "../manifest/registry.js";
import type { DockerRunOptions } from "./docker.js";
import { assertNoRunnerVariables, RUNNER_ENV } from "../manifest/runner-env.js";
import { imageSource } from "./image-source.js";
import type { RunRecord } from "./local.js";
import { assertSwarmOnlyOptions, type SwarmOnlyOptions } from "./swarm-options.js";
import { withRunTimeout } from "./timeout.js";
import type { Parameters } from "./parameters.js";
import { validateAgainstSchema } from "./validate.js";

/** Where a manifest can run. `auto`: file manifests and OCI-layout images here, other images in a container. */
export const RUN_TARGETS = ["auto", "local", "docker", "swarm"] as const;
export type RunTarget = (typeof RUN_TARGETS)[number];

export interface RunManifestOptions extends DockerRunOptions, SwarmOnlyOptions {
  /**
   * Stop the run after this many milliseconds (any target): a container is stopped and removed, a
   * swarm service removed, a flow in this process gets its grace period; then RunTimeoutError (exit 3).
   */
  timeoutMs?: number;
  /** Where to run (default `auto`). */
  on?: RunTarget;
  /** Names the manifest in errors (e.g. its file path). Default: "manifest". */
  source?: string;
  /**
   * Environment variables for the flow (DATABASE_URL, API keys): a container's env; a run from an
   * OCI layout gets only these plus a minimal set (see LAYOUT_HOST_ENV), as a container would; a
   * file manifest run in this process inherits this environment plus these. Never logged.
   */
  env?: FlowEnv;
}

/**
 * Runs the flow a manifest describes, wherever `on` says: the one entry behind `flowpack run`.
 * The target is chosen and checked, and the parameters validated against the manifest's schema,
 * before anything starts (no container, no extraction); then the target runs the flow and its
 * run record is returned. Errors keep their class and code (exit 1 the flow failed, 2 bad input,
 * 3 infrastructure, 130/143 interrupted). `signal` (its reason "SIGINT" or "SIGTERM") becomes the
 * flow's `ctx.signal` wherever it runs; a container is stopped with a grace period.
 */
export async function runManifest(manifest: PackageManifest, params: Parameters, options: RunManifestOptions = {}): Promise<RunRecord> {
  const { on: requested = "auto", source: where = "manifest", env = {}, timeoutMs, constraints, cpus, memory, ...docker } = options;
  const on = runTarget(manifest, requested);
  assertSwarmOnlyOptions(on, { constraints, cpus, memory });
  const image = manifest.type === "docker" ? imageSource(manifest.image) : undefined;
  if (on === "local" && docker.network !== undefined) throw new UsageError("--network applies to runs in a container (--on docker) only");
  if ((on === "docker" || on === "swarm") && manifest.type !== "docker") throw new UsageError(`--on ${on} needs a docker manifest; this one is "${manifest.type}"`);
  if (on === "local" && manifest.type === "docker" && image?.kind !== "oci-layout" && !insideImage(manifest.imageFlowLocation)) {
    throw new UsageError(`--on local cannot run ${where}: its flow is inside the image ${manifest.image}`, {
      hint: "--on local runs a docker manifest only inside its image or from an OCI layout; use --on docker",
    });
  }
  assertNoRunnerVariables(env);
  await validateAgainstSchema(manifest.flowName, params, manifest.flowParameterSchema, where);
  // Each target is loaded only when it runs: a file manifest's run needs no Engine client, image
  // reader or bundler, and a container's no image extraction (see README: start-up).
  return withRunTimeout(timeoutMs, docker.signal, async (signal) => {
    if (manifest.type === "docker" && on === "swarm") return (await import("./swarm.js")).runOnSwarm(manifest, params, { ...docker, signal, env, constraints, cpus, memory });
    if (manifest.type === "docker" && on === "docker") return (await import("./docker.js")).runInContainer(manifest, params, { ...docker, signal, env });
    const stop = { signal };
    if (manifest.type === "docker" && image?.kind === "oci-layout") return (await import("./layout.js")).runFromLayout(manifest, image.dir, image.digest, params, { ...stop, env });
    const [{ unpackage }, { runFlow }] = await Promise.all([import("../packagers/unpackage.js"), import("./local.js")]);
    // The module is imported with the variables set: a flow may read them when it loads.
    return withProcessEnv("inherit", env, async () => runFlow(await unpackage(manifest), params, undefined, stop));
  });
}

/** Where `requested` runs this manifest: `auto` resolved, unknown targets refused. */
export function runTarget(manifest: PackageManifest, requested: string = "auto"): Exclude<RunTarget, "auto"> {
  if (!(RUN_TARGETS as readonly string[]).includes(requested)) {
    throw new UsageError(`unknown --on ${JSON.stringify(requested)}; known: ${RUN_TARGETS.join(", ")}`);
  }
  if (requested !== "auto") return requested as Exclude<RunTarget, "auto">;
  return manifest.type === "file" || imageSource(manifest.image).kind === "oci-layout" ? "local" : "docker";
}

/** True in a flowpack image (its runner's environment is set) whose flow bundle is where the manifest says. */
function insideImage(imageFlowLocation: string): boolean {
  return Boolean(process.env[RUNNER_ENV.flowLocation]) && existsSync(imageFlowLocation);
}
