import type { Command } from "commander";
import { existsSync } from "node:fs";
import { UsageError } from "../../errors.js";
import { unpackage } from "../../packagers/unpackage.js";
import { runInContainer } from "../../run/docker.js";
import { imageSource } from "../../run/image-source.js";
import { runFromLayout } from "../../run/layout.js";
import { runFlow, type RunRecord } from "../../run/local.js";
import { RUNNER_ENV } from "../../run/entrypoint-env.js";
import { resolveParameters } from "../../run/parameters.js";
import { validateAgainstSchema } from "../../run/validate.js";
import { readManifestFile } from "../manifest-file.js";
import { toJson } from "../../_internal/report.js";
import type { Output } from "../output.js";
import { collect } from "./package.js";

interface RunFlags {
  param: string[];
  params?: string;
  on: string;
  network?: string;
  allowUnpinned?: boolean;
}

export function registerRun(program: Command, output: () => Output): void {
  program
    .command("run")
    .description("run a packaged flow; its result is printed as JSON on stdout, its logs on stderr")
    .argument("<manifest>", "manifest.json written by `flowpack package` (- for stdin)")
    .option("-p, --param <key=value>", "a parameter, coerced by the flow's schema (repeatable)", collect, [])
    .option("--params <json|@file>", "parameters as a JSON object, inline or from a file")
    .option("--on <where>", "where to run: auto (file → local, docker → docker) | local | docker", "auto")
    .option("--network <mode>", "docker: the container's network (none, host, bridge, …)")
    .option("--allow-unpinned", "docker: run a registry image the manifest names by tag only (no @sha256: digest)")
    .action(async (manifestPath: string, flags: RunFlags) => {
      const out = output();
      const manifest = await readManifestFile(manifestPath);
      const source = manifest.type === "docker" ? imageSource(manifest.image) : undefined;
      const on = flags.on === "auto" ? (!source || source.kind === "oci-layout" ? "local" : "docker") : flags.on;
      if (on !== "local" && on !== "docker") throw new UsageError(`unknown --on ${JSON.stringify(flags.on)}; known: auto, local, docker`);
      if (on === "local" && flags.network !== undefined) throw new UsageError("--network applies to runs in a container (--on docker) only");
      if (on === "docker" && manifest.type !== "docker") throw new UsageError(`--on docker needs a docker manifest; this one is "${manifest.type}"`);
      if (on === "local" && manifest.type === "docker" && source?.kind !== "oci-layout" && !insideImage(manifest.imageFlowLocation)) {
        throw new UsageError(`--on local cannot run ${manifestPath}: its flow is inside the image ${manifest.image}`, {
          hint: "--on local runs a docker manifest only inside its image or from an OCI layout; use --on docker",
        });
      }
      const params = resolveParameters(manifest.flowParameterSchema, { params: flags.params, pairs: flags.param });
      await validateAgainstSchema(manifest.flowName, params, manifest.flowParameterSchema, manifestPath);
      let record: RunRecord;
      if (on === "local" && manifest.type === "docker" && source?.kind === "oci-layout") {
        record = await runFromLayout(manifest, source.dir, source.digest, params);
      } else if (on === "local" || manifest.type !== "docker") {
        record = await runFlow(await unpackage(manifest), params);
      } else {
        const controller = new AbortController();
        // `on`, not `once`: a second Ctrl-C must not kill flowpack before the container is removed.
        const interrupt = () => controller.abort();
        process.on("SIGINT", interrupt);
        process.on("SIGTERM", interrupt);
        try {
          record = await runInContainer(manifest, params, { network: flags.network, signal: controller.signal, allowUnpinned: flags.allowUnpinned });
        } finally {
          process.off("SIGINT", interrupt);
          process.off("SIGTERM", interrupt);
        }
      }
      out.result(out.json ? toJson(record) : toJson(record.result));
    });
}

/** True in a flowpack image (its runner's environment is set) whose flow bundle is where the manifest says. */
function insideImage(imageFlowLocation: string): boolean {
  return Boolean(process.env[RUNNER_ENV.flowLocation]) && existsSync(imageFlowLocation);
}
