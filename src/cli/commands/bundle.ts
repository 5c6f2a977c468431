import type { Command } from "commander";
import { dirname, join } from "node:path";
import { readFile } from "node:fs/promises";
import { bundleFlow, withSourceMapName } from "../../bundle/bundle.js";
import { ASSETS_DIR } from "../../bundle/assets.js";
import { RUNNER_FILE, runnerBundle } from "../../bundle/runner.js";
import { sha256 } from "../../oci/compute-digest.js";
import { writeOutputFile } from "../../_internal/fs.js";
import { toJson } from "../../_internal/report.js";
import type { Output } from "../output.js";
import { collect } from "../options.js";

export function registerBundle(program: Command, output: () => Output): void {
  program
    .command("bundle")
    .description("bundle a flow into one ES module (with a .map beside it), e.g. to COPY into your own image")
    .argument("<entry>", "the .ts/.js file that defines the flow")
    .requiredOption("-o, --output <file>", "where to write the bundle (e.g. flow.mjs)")
    .option("--external <package>", "leave this package out of the bundle (repeatable)", collect, [])
    .option("--include <glob>", "also ship the files this glob names (relative to the project) in assets/ beside the bundle (repeatable)", collect, [])
    .option("--with-runner", `also write flowpack's in-image entrypoint (${RUNNER_FILE}) beside the bundle`)
    .action(async (entry: string, flags: { output: string; external: string[]; include: string[]; withRunner?: boolean }) => {
      const out = output();
      const bundle = await bundleFlow(entry, { external: flags.external, include: flags.include });
      const mapName = `${flags.output.split(/[\\/]/).pop()}.map`;
      const code = withSourceMapName(bundle.code, mapName);
      await writeOutputFile(`${flags.output}.map`, bundle.map);
      await writeOutputFile(flags.output, code);
      // Files beside the code: where the bundle's modules look for them (see bundle/assets.ts).
      for (const asset of bundle.assets ?? []) await writeOutputFile(join(dirname(flags.output), ASSETS_DIR, asset.path), await readFile(asset.file));
      if (flags.withRunner) await writeOutputFile(join(dirname(flags.output), RUNNER_FILE), (await runnerBundle()).code);
      // The digest of the bytes written (the sourceMappingURL names this file's map), not esbuild's.
      const digest = sha256(code);
      const summary = { output: flags.output, bytes: code.length, digest, externals: bundle.externals, assets: (bundle.assets ?? []).map((asset) => `${ASSETS_DIR}/${asset.path}`) };
      if (out.json) out.result(toJson(summary));
      else out.info(`bundled ${entry} → ${flags.output} (${code.length} bytes, ${digest})`);
      for (const warning of bundle.warnings) out.info(`warning: ${warning}`);
    });
}
