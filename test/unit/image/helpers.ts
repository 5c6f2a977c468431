import { execFile } from "node:child_process";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { extract as tarExtract, type Header } from "tar-stream";
import { buildLayer } from "../../../src/image/layer-writer.js";
import type { BuiltLayer } from "../../../src/image/layer.js";
import type { ImageConfig } from "../../../src/oci/image.js";

export const run = promisify(execFile);

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export interface TarItem {
  header: Header;
  content: Buffer;
}

/** Every entry of a (gzip) tar: header and content. */
export async function tarItems(bytes: Buffer): Promise<TarItem[]> {
  const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const extract = tarExtract();
  const items: TarItem[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      items.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  extract.end(tar);
  await reading;
  return items;
}

/** `sha256sum` of a file, as `sha256:<hex>`, by the system tool. */
export async function sha256sum(file: string): Promise<string> {
  const { stdout } = await run("sha256sum", [file], { timeout: 60_000 });
  return `sha256:${stdout.split(" ")[0]}`;
}

/** sha256 of the gunzipped file, by `gzip -dc | sha256sum`. */
export async function gunzipSha256sum(file: string): Promise<string> {
  const { stdout } = await run("bash", ["-c", 'gzip -dc -- "$1" | sha256sum', "bash", file], { timeout: 60_000 });
  return `sha256:${stdout.split(" ")[0]}`;
}


/** A tiny base image (one layer) built in memory: enough for assembly, layout and archive tests. */
export async function syntheticBase(): Promise<{ config: ImageConfig; layers: BuiltLayer[] }> {
  const layer = await buildLayer(
    [
      { path: "etc/os-release", type: "file", content: "ID=flowpack-test\n" },
      { path: "bin/tool", type: "file", mode: 0o755, content: "#!/bin/sh\n" },
      { path: "usr/bin/tool", type: "symlink", linkTarget: "../../bin/tool" },
    ],
    { mtime: 0 },
  );
  const config: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "2024-01-01T00:00:00Z",
    config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["/bin/tool"] },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [{ created: "2024-01-01T00:00:00Z", created_by: "synthetic base" }],
  };
  return { config, layers: [layer] };
}
