import type { Command } from "commander";
import { resolveEnv } from "../../_internal/env-vars.js";
import { writeOutputFile } from "../../_internal/fs.js";
import type { PathRole } from "../../_internal/fs-errors.js";
import { checkOutputFile } from "../../_internal/path-checks.js";
import { UsageError } from "../../errors.js";
import { kubernetesJob, DEFAULT_TTL_SECONDS, DEFAULT_PARALLELISM, JOB_LABELS } from "../../export/kubernetes.js";
import { kubernetesJobYaml } from "../../export/kubernetes-yaml.js";
import { readParamSets } from "../../run/param-sets.js";
import { resolveParameters } from "../../run/parameters.js";
import { readManifestFile } from "../manifest-file.js";
import type { Output } from "../output.js";
import { collect } from "../options.js";

interface KubernetesFlags {
  param: string[];
  params?: string;
  each?: string;
  name?: string;
  namespace?: string;
  timeout?: number;
  ttl?: number;
  imagePullSecret: string[];
  cpus?: number;
  memory?: string;
  env: string[];
  envFile: string[];
  envFromSecret: string[];
  label: string[];
  parallelism?: number;
  allowUnpinned?: boolean;
  output?: string;
}

const OUTPUT_ROLE: PathRole = { action: "write the Job", owner: "user", hint: "or choose another -o file" };

export function registerExport(program: Command, output: () => Output): void {
  const exportCommand = program.command("export").description("write what another system needs to run a packaged flow");
  exportCommand
    .command("kubernetes")
    .description(
      "write a Kubernetes batch/v1 Job (YAML) that runs a docker manifest's flow from its pinned registry image; with --each, an Indexed Job running one parameter set per completion index. " +
        "Values given by --env / --env-file are written into the YAML in plain text: keep secrets in a Secret and pass --env-from-secret.",
    )
    .argument("<manifest>", "manifest.json written by `flowpack package --registry …` (- for stdin)")
    .option("-p, --param <key=value>", "a parameter, coerced by the flow's schema (repeatable)", collect, [])
    .option("--params <json|@file>", "parameters as a JSON object, inline or from a file")
    .option("--each <file>", "one run per line of this JSON-lines file (- for stdin): an Indexed Job")
    .option("--name <name>", "the Job's name (default: <flow>-<first 8 characters of the run id>)")
    .option("--namespace <ns>", "the Job's namespace (default: kubectl's)")
    .option("--timeout <seconds>", "stop the Job after this many seconds (activeDeadlineSeconds)", integer)
    .option("--ttl <seconds>", `delete the finished Job and its pods after this many seconds (ttlSecondsAfterFinished)`, integer, DEFAULT_TTL_SECONDS)
    .option("--image-pull-secret <name>", "a docker-registry Secret the cluster pulls the image with (repeatable)", collect, [])
    .option("--cpus <n>", "CPUs for the flow's container (requests = limits)", Number)
    .option("--memory <quantity>", "memory for the flow's container, e.g. 512Mi, 2Gi (requests = limits)")
    .option("-e, --env <key[=value]>", "an environment variable for the flow, written in the YAML in plain text; KEY alone takes its value from here (repeatable)", collect, [])
    .option("--env-file <file>", "environment variables for the flow from a dotenv file, written in the YAML in plain text (repeatable; --env wins)", collect, [])
    .option("--env-from-secret <name>", "a Secret whose keys become the flow's environment variables; values stay out of the YAML (repeatable)", collect, [])
    .option("--label <key=value>", "a label on the Job and its pods (repeatable)", collect, [])
    .option("--parallelism <n>", `with --each: pods running at once (default: the number of sets, at most ${DEFAULT_PARALLELISM})`, integer)
    .option("--allow-unpinned", "accept a registry image the manifest names by tag only (no @sha256: digest)")
    .option("-o, --output <file>", "write the YAML to this file (atomically) instead of stdout")
    .action(async (manifestPath: string, flags: KubernetesFlags) => {
      const out = output();
      if (flags.output) checkOutputFile(flags.output, OUTPUT_ROLE);
      const manifest = await readManifestFile(manifestPath);
      if (manifestPath === "-" && flags.each === "-") throw new UsageError("the manifest and --each cannot both come from stdin");
      if (flags.each !== undefined && (flags.param.length > 0 || flags.params !== undefined)) {
        throw new UsageError("--each takes every parameter from its file: leave out --param and --params");
      }
      const input =
        flags.each !== undefined
          ? (await readParamSets(flags.each, manifest.flowName, manifest.flowParameterSchema, manifestPath)).map((set) => set.params)
          : resolveParameters(manifest.flowParameterSchema, { params: flags.params, pairs: flags.param });
      const job = await kubernetesJob(manifest, input, {
        name: flags.name,
        namespace: flags.namespace,
        timeoutSeconds: flags.timeout,
        ttlSecondsAfterFinished: flags.ttl,
        imagePullSecrets: flags.imagePullSecret,
        cpus: flags.cpus,
        memory: flags.memory,
        env: await resolveEnv({ pairs: flags.env, files: flags.envFile }),
        envFromSecrets: flags.envFromSecret,
        labels: Object.fromEntries(flags.label.map(labelPair)),
        parallelism: flags.parallelism,
        allowUnpinned: flags.allowUnpinned,
        source: manifestPath,
      });
      const yaml = await kubernetesJobYaml(job);
      const what = `Job ${job.metadata?.name} (${Array.isArray(input) ? `${input.length} parameter sets` : "one run"}, run id ${job.metadata?.labels?.[JOB_LABELS.runId]})`;
      if (flags.output) {
        await writeOutputFile(flags.output, yaml, OUTPUT_ROLE);
        out.info(`wrote ${what} → ${flags.output}; apply it with kubectl apply -f ${flags.output}`);
      } else {
        out.result(yaml);
      }
    });
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${JSON.stringify(value)}: expected a whole number of seconds or pods`);
  return Number(value);
}

function labelPair(pair: string): [string, string] {
  const eq = pair.indexOf("=");
  if (eq <= 0) throw new UsageError(`--label ${JSON.stringify(pair)}: expected KEY=VALUE`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}
