import type { Command } from "commander";
import { resolveParameters } from "../../run/parameters.js";
import { RUN_TARGETS, runManifest, runTarget, type RunTarget } from "../../run/manifest.js";
import { readManifestFile } from "../manifest-file.js";
import { resolveEnv, type FlowEnv } from "../../_internal/env-vars.js";
import { toJson } from "../../_internal/report.js";
import { withStopSignals } from "../../_internal/stop.js";
import type { Output } from "../output.js";
import { collect } from "../options.js";
import { parseDuration } from "../../_internal/units.js";
import { BatchFailedError, RunTimeoutError, type FlowpackError } from "../../errors.js";

interface RunFlags {
  param: string[];
  params?: string;
  on: string;
  network?: string;
  allowUnpinned?: boolean;
  env: string[];
  envFile: string[];
  constraint: string[];
  cpus?: string;
  memory?: string;
  timeout?: string;
  each?: string;
  concurrency?: string;
}

export function registerRun(program: Command, output: () => Output): void {
  program
    .command("run")
    .description("run a packaged flow; its result is printed as JSON on stdout, its logs on stderr")
    .argument("<manifest>", "manifest.json written by `flowpack package` (- for stdin)")
    .option("-p, --param <key=value>", "a parameter, coerced by the flow's schema (repeatable)", collect, [])
    .option("--params <json|@file>", "parameters as a JSON object, inline or from a file")
    .option("--on <where>", `where to run: ${RUN_TARGETS.join(" | ")} (auto: file → local, docker → docker)`, "auto")
    .option("--network <mode>", "docker: the container's network (none, host, bridge, …); swarm: a swarm network to attach the service to")
    .option("-e, --env <key[=value]>", "an environment variable for the flow; KEY alone takes its value from here (repeatable, later wins)", collect, [])
    .option("--env-file <file>", "environment variables for the flow from a dotenv file (repeatable; --env wins)", collect, [])
    .option("--allow-unpinned", "docker, swarm: run a registry image the manifest names by tag only (no @sha256: digest)")
    .option("--constraint <expr>", "swarm: a placement constraint, e.g. node.role==worker (repeatable, all must hold)", collect, [])
    .option("--cpus <n>", "swarm: CPU limit of the flow's container, e.g. 0.5")
    .option("--memory <size>", "swarm: memory limit of the flow's container, e.g. 256m, 1g")
    .option("--timeout <duration>", "stop the run after this long (30s, 5m, 1h) and remove what it started; exit 3 (with --each: each run's own)")
    .option("--each <file|->", "one run per line: each line a JSON object of parameters; results as JSON lines in input order")
    .option("--concurrency <n>", "with --each: runs at once (default: local 1, docker 4, swarm 4)")
    .action(async (manifestPath: string, flags: RunFlags) => {
      const out = output();
      // --each (and its batch targets) is loaded only when asked for: a single run does not pay for it.
      if (flags.each !== undefined || flags.concurrency !== undefined) (await import("../each.js")).checkEachFlags(flags);
      const manifest = await readManifestFile(manifestPath);
      const on = runTarget(manifest, flags.on);
      if (flags.each !== undefined) {
        // --timeout with --each: each run's own deadline.
        const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
        const env = await resolveEnv({ pairs: flags.env, files: flags.envFile });
        const { runEachCommand } = await import("../each.js");
        // SIGINT/SIGTERM stop the batch as a whole: every running run is stopped, no more start.
        return withStopSignals(async (signal) => {
          try {
            await runEachCommand(manifest, flags, { ...targetOptions(flags, on, manifestPath, env), signal, timeoutMs });
          } catch (error) {
            // A run past its --timeout here, in this process (exit 3), may have left its flow's timers behind.
            if (on === "local" && timeoutMs !== undefined && error instanceof BatchFailedError && error.exitCode === 3) exitOnceReported(error);
            throw error;
          }
        });
      }
      const params = resolveParameters(manifest.flowParameterSchema, { params: flags.params, pairs: flags.param });
      const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
      const env = await resolveEnv({ pairs: flags.env, files: flags.envFile });
      // SIGINT/SIGTERM abort the flow's ctx.signal, wherever it runs; it gets a grace period to stop
      // (a container: `docker stop`), then flowpack exits 130/143. A second signal does not cut that short.
      await withStopSignals(async (signal) => {
        try {
          const record = await runManifest(manifest, params, { ...targetOptions(flags, on, manifestPath, env), signal, timeoutMs });
          out.result(out.json ? toJson(record) : toJson(record.result));
        } catch (error) {
          if (error instanceof RunTimeoutError) exitOnceReported(error);
          throw error;
        }
      });
    });
}

/**
 * As after Ctrl-C: a timed-out flow that ran here may have left timers or sockets behind; they must
 * not keep flowpack running past its deadline. The error is reported first, then flowpack exits.
 */
function exitOnceReported(error: FlowpackError): void {
  setTimeout(() => process.exit(error.exitCode), 0).unref();
}

/** Where and how a run goes, from the flags: the same for a single run and for each run of --each. */
function targetOptions(flags: RunFlags, on: RunTarget, manifestPath: string, env: FlowEnv) {
  return {
    on,
    source: manifestPath,
    network: flags.network,
    allowUnpinned: flags.allowUnpinned,
    env,
    constraints: flags.constraint,
    cpus: flags.cpus,
    memory: flags.memory,
  };
}
