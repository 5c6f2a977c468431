import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { serializeManifest } from "../../manifest/registry.js";
import { FilePackager } from "../../packagers/file.js";
import { writeFileAtomic } from "../../_internal/fs.js";
import type { Output } from "../output.js";

interface PackageFlags {
  flow?: string;
  packager: string;
  output?: string;
  store?: string;
  external: string[];
}

export function registerPackage(program: Command, output: () => Output): void {
  program
    .command("package")
    .description("bundle a flow and package it; prints or writes its manifest")
    .argument("<entry>", "the .ts/.js file that defines the flow")
    .option("--flow <name>", "which flow, when the file defines several")
    .option("--packager <type>", "file", "file")
    .option("-o, --output <file>", "write the manifest here (default: print it)")
    .option("--store <dir>", "file packager: the content-addressed store (default: .flowpack/store in the project)")
    .option("--external <package>", "leave this package out of the bundle (repeatable)", collect, [])
    .action(async (entry: string, flags: PackageFlags) => {
      const out = output();
      if (flags.packager !== "file") {
        throw new UsageError(`unknown packager ${JSON.stringify(flags.packager)}; known packagers: file`);
      }
      const packager = new FilePackager({ store: flags.store });
      const manifest = await packager.package(entry, { flowName: flags.flow, external: flags.external });
      const text = serializeManifest(manifest);
      if (flags.output) {
        await writeFileAtomic(flags.output, text);
        out.info(`packaged flow "${manifest.flowName}" (${manifest.type}) → ${flags.output}`);
        if (out.json) out.result(text);
      } else {
        out.result(text);
      }
    });
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
