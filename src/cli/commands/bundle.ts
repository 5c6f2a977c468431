import type { Command } from "commander";
import { dirname, join } from "node:path";
import { bundleFlow, withSourceMapName } from "../../bundle/bundle.js";
import { RUNNER_FILE, runnerBundle } from "../../bundle/runner.js";
import { sha256 } from "../../oci/digest.js";
import { writeOutputFile } from "../../_internal/fs.js";
import { toJson } from "../../_internal/report.js";
import type { Output } from "../output.js";
import { collect } from "./package.js";

export function registerBundle(program: Command, output: () => Output): void {
  program
    .command("bundle")
    .description("bundle a flow into one ES module (with a .map beside it), e.g. to COPY into your own image")
    .argument("<entry>", "the .ts/.js file that defines the flow")
    .requiredOption("-o, --output <file>", "where to write the bundle (e.g. flow.mjs)")
    .option("--external <package>", "leave this package out of the bundle (repeatable)", collect, [])
    .option("--with-runner", `also write flowpack's in-image entrypoint (${RUNNER_FILE}) beside the bundle`)
    .action(async (entry: string, flags: { output: string; external: string[]; withRunner?: boolean }) => {
      const out = output();
      const bundle = await bundleFlow(entry, { external: flags.external });
      const mapName = `${flags.output.split(/[\\/]/).pop()}.map`;
      const code = withSourceMapName(bundle.code, mapName);
      await writeOutputFile(`${flags.output}.map`, bundle.map);
      await writeOutputFile(flags.output, code);
      if (flags.withRunner) await writeOutputFile(join(dirname(flags.output), RUNNER_FILE), (await runnerBundle()).code);
      // The digest of the bytes written (the sourceMappingURL names this file's map), not esbuild's.
      const digest = sha256(code);
      const summary = { output: flags.output, bytes: code.length, digest, externals: bundle.externals };
      if (out.json) out.result(toJson(summary));
      else out.info(`bundled ${entry} → ${flags.output} (${code.length} bytes, ${digest})`);
      for (const warning of bundle.warnings) out.info(`warning: ${warning}`);
    });
}
