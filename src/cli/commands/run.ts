import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { unpackage } from "../../packagers/unpackage.js";
import { runInContainer } from "../../run/docker.js";
import { imageSource } from "../../run/image-source.js";
import { runFromLayout } from "../../run/layout.js";
import { runFlow, type RunRecord } from "../../run/local.js";
import { parseParamPairs, parseParamsOption } from "../../run/parameters.js";
import { validateAgainstSchema } from "../../run/validate.js";
import { readManifestFile } from "../manifest-file.js";
import { toJson, type Output } from "../output.js";
import { collect } from "./package.js";

interface RunFlags {
  param: string[];
  params?: string;
  on: string;
  network?: string;
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
    .action(async (manifestPath: string, flags: RunFlags) => {
      const out = output();
      const manifest = await readManifestFile(manifestPath);
      const params = {
        ...(flags.params ? parseParamsOption(flags.params) : {}),
        ...parseParamPairs(flags.param, manifest.flowParameterSchema),
      };
      validateAgainstSchema(manifest.flowName, params, manifest.flowParameterSchema);
      const source = manifest.type === "docker" ? imageSource(manifest.image) : undefined;
      const on = flags.on === "auto" ? (!source || source.kind === "oci-layout" ? "local" : "docker") : flags.on;
      let record: RunRecord;
      if (on === "local" && manifest.type === "docker" && source?.kind === "oci-layout") {
        record = await runFromLayout(manifest, source.dir, source.digest, params);
      } else if (on === "local") {
        record = await runFlow(await unpackage(manifest), params);
      } else if (on === "docker") {
        if (manifest.type !== "docker") throw new UsageError(`--on docker needs a docker manifest; this one is "${manifest.type}"`);
        const controller = new AbortController();
        const interrupt = () => controller.abort();
        process.once("SIGINT", interrupt);
        process.once("SIGTERM", interrupt);
        try {
          record = await runInContainer(manifest, params, { network: flags.network, signal: controller.signal });
        } finally {
          process.off("SIGINT", interrupt);
          process.off("SIGTERM", interrupt);
        }
      } else {
        throw new UsageError(`unknown --on ${JSON.stringify(flags.on)}; known: auto, local, docker`);
      }
      out.result(out.json ? toJson(record) : toJson(record.result));
    });
}
