import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { manifestJsonSchema } from "../../manifest/registry.js";
import { toJson } from "../../_internal/report.js";
import type { Output } from "../output.js";

export function registerSchema(program: Command, output: () => Output): void {
  program
    .command("schema")
    .description("print a JSON Schema: manifest")
    .argument("<name>", "manifest")
    .action((name: string) => {
      if (name !== "manifest") throw new UsageError(`unknown schema ${JSON.stringify(name)}; known: manifest`);
      output().result(toJson(manifestJsonSchema()));
    });
}
