import type { Command } from "commander";
import type { PackageManifest } from "../../manifest/registry.js";
import { readManifestFile } from "../manifest-file.js";
import { toJson } from "../../_internal/report.js";
import type { Output } from "../output.js";

export function registerInspect(program: Command, output: () => Output): void {
  program
    .command("inspect")
    .description("validate a manifest and describe it")
    .argument("<manifest>", "manifest.json (- for stdin)")
    .action(async (manifestPath: string) => {
      const out = output();
      const manifest = await readManifestFile(manifestPath);
      out.result(out.json ? toJson(manifest) : describe(manifest));
    });
}

function describe(manifest: PackageManifest): string {
  const lines = [`flow:        ${manifest.flowName}`, `type:        ${manifest.type}`];
  if (manifest.type === "docker") {
    lines.push(`image:       ${manifest.image}`, `flow file:   ${manifest.imageFlowLocation}`);
  } else {
    lines.push(`serializer:  ${manifest.serializer.type}`, `key:         ${manifest.key}`, `store:       ${manifest.store}`);
  }
  const schema = manifest.flowParameterSchema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const properties = Object.entries(schema.properties ?? {});
  lines.push(properties.length === 0 ? "parameters:  (none)" : "parameters:");
  for (const [name, property] of properties) {
    const required = schema.required?.includes(name) ? " (required)" : "";
    const type = property.type ?? (property.enum ? `one of ${JSON.stringify(property.enum)}` : "any");
    const fallback = "default" in property ? ` = ${JSON.stringify(property.default)}` : "";
    lines.push(`  ${name}: ${String(type)}${fallback}${required}`);
  }
  return lines.join("\n");
}
