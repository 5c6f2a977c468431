import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { unpackage } from "../../packagers/unpackage.js";
import { runFlow } from "../../run/local.js";
import { parseParamPairs, parseParamsOption, validateAgainstSchema } from "../../run/parameters.js";
import { readManifestFile } from "../manifest-file.js";
import { toJson, type Output } from "../output.js";
import { collect } from "./package.js";

interface RunFlags {
  param: string[];
  params?: string;
  on: string;
}

export function registerRun(program: Command, output: () => Output): void {
  program
    .command("run")
    .description("run a packaged flow; its result is printed as JSON on stdout, its logs on stderr")
    .argument("<manifest>", "manifest.json written by `flowpack package` (- for stdin)")
    .option("-p, --param <key=value>", "a parameter, coerced by the flow's schema (repeatable)", collect, [])
    .option("--params <json|@file>", "parameters as a JSON object, inline or from a file")
    .option("--on <where>", "where to run: local", "local")
    .action(async (manifestPath: string, flags: RunFlags) => {
      const out = output();
      const manifest = await readManifestFile(manifestPath);
      const params = {
        ...(flags.params ? parseParamsOption(flags.params) : {}),
        ...parseParamPairs(flags.param, manifest.flowParameterSchema),
      };
      validateAgainstSchema(manifest.flowName, params, manifest.flowParameterSchema);
      if (flags.on !== "local") throw new UsageError(`unknown --on ${JSON.stringify(flags.on)}; known: local`);
      const flow = await unpackage(manifest);
      const record = await runFlow(flow, params);
      out.result(out.json ? toJson(record) : toJson(record.result));
    });
}
