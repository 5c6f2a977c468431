import { readFile } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { parseManifest, type PackageManifest } from "../manifest/registry.js";

export async function readManifestFile(path: string): Promise<PackageManifest> {
  let text: string;
  try {
    text = path === "-" ? await readStdin() : await readFile(path, "utf8");
  } catch {
    throw new UsageError(`cannot read manifest ${path}`, { hint: "pass the manifest.json written by `flowpack package`" });
  }
  return parseManifest(text, path);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
