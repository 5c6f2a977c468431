/**
 * The program inside every image flowpack builds: `node /opt/flowpack/runner.mjs [--param k=v]…`.
 * It loads the flow from the bundle baked into the image, validates the parameters and prints the
 * flow's result as JSON on stdout (logs go to stderr). Exit codes as the CLI's: 0, 1 flow failed,
 * 2 bad input.
 *
 * Inputs: FLOWPACK_FLOW_NAME and FLOWPACK_FLOW_LOCATION (set in the image config), or a whole
 * manifest in FLOWPACK_MANIFEST; parameters from FLOWPACK_PARAMS (JSON), --params and --param.
 * In a Kubernetes Indexed Job, FLOWPACK_PARAM_SETS (a JSON array) replaces FLOWPACK_PARAMS: the
 * pod runs the set at JOB_COMPLETION_INDEX. FLOWPACK_RUN_ID sets the run id; FLOWPACK_RESULT_FILE
 * names a file that also gets the JSON record, cut to 4 KiB (the Job's termination message).
 *
 * With --json, a failure is only the JSON record on stdout (the host prints it for people, once).
 * SIGTERM (`docker stop`) and SIGINT abort the flow's `ctx.signal`; the flow then has
 * FLOWPACK_STOP_GRACE seconds (default 10) to finish before the runner exits 143 (130 for SIGINT).
 * Timers or sockets a flow leaves open do not keep the container running: the runner exits
 * FLOWPACK_EXIT_GRACE seconds (default 2) after the flow ended if something is still running.
 * Stacks are source-mapped to the user's files through the `.map` beside the bundle.
 */
import { parseArgs } from "node:util";
import { errorRecord, reportError, toJson } from "../_internal/report.js";
import { abortOnStopSignals, exitOnceDone } from "../_internal/stop.js";
import { UsageError } from "../errors.js";
import { importScript } from "../_internal/import-module.js";
import { flowsOf, pickFlow } from "../flow/select.js";
import { parseManifest } from "../manifest/registry.js";
import { RUNNER_ENV } from "../manifest/runner-env.js";
import { runFlow } from "./local.js";
import { resolveParameters } from "./parameters.js";
import { runnerInputs, writeResultFile } from "./runner-io.js";

function target(env: NodeJS.ProcessEnv): { flowName: string; location: string } {
  const manifestJson = env[RUNNER_ENV.manifest];
  if (manifestJson) {
    const manifest = parseManifest(manifestJson, RUNNER_ENV.manifest);
    if (manifest.type !== "docker") throw new UsageError(`${RUNNER_ENV.manifest}: expected a docker manifest, got "${manifest.type}"`);
    return { flowName: manifest.flowName, location: manifest.imageFlowLocation };
  }
  const flowName = env[RUNNER_ENV.flowName];
  const location = env[RUNNER_ENV.flowLocation];
  if (!flowName || !location) {
    throw new UsageError(`this image does not say which flow to run: set ${RUNNER_ENV.manifest}, or ${RUNNER_ENV.flowName} and ${RUNNER_ENV.flowLocation}`);
  }
  return { flowName, location };
}

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ json: boolean }> {
  let values: { param?: string[]; params?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { param: { type: "string", short: "p", multiple: true }, params: { type: "string" }, json: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: "usage: [--param KEY=VALUE]… [--params JSON|@file] [--json]" });
  }
  const { flowName, location } = target(env);
  const flow = pickFlow(flowsOf(await importScript(location)), flowName, location);
  const inputs = runnerInputs(env);
  const params = resolveParameters(flow.parameterSchema(), { env: inputs.params, params: values.params, pairs: values.param });
  const record = await runFlow(flow, params, inputs.runId, { signal });
  process.stdout.write(values.json ? toJson(record) : toJson(record.result));
  writeResultFile(env, record);
  return { json: Boolean(values.json) };
}

// Before the flow's bundle loads, so that its stacks point into the user's files.
process.setSourceMapsEnabled(true);
const argv = process.argv.slice(2);
const controller = new AbortController();
const { signal } = controller;
const stopListening = abortOnStopSignals(controller);
try {
  await run(argv, process.env);
} catch (error) {
  const json = argv.includes("--json");
  const debug = process.env.FLOWPACK_DEBUG === "1";
  process.exitCode = reportError(error, debug, json, { human: !json });
  // Only when a result file is named: the record is already on stdout with --json.
  if (process.env[RUNNER_ENV.resultFile]) writeResultFile(process.env, errorRecord(error, debug));
} finally {
  stopListening();
}
// A stopped flow may leave timers or sockets behind: they must not hold the container past its grace.
if (signal.aborted) process.exit();
// Nor those of a flow that ended: the container (a swarm job, a Kubernetes Job) must end with it.
exitOnceDone(Number(process.exitCode ?? 0), process.env, (message) => process.stderr.write(`flowpack: warning: ${message}\n`));
