// The limit: the time to read the layer bytes a tool produced, gzip them and sha256 both the
// uncompressed (diffID) and the compressed (digest) stream, once, in this process. No tool can
// build those layers faster than it can read and compress them, so "tool time / limit" says how
// much of a tool's time is overhead.
import { createReadStream, writeFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { createGzip, gunzipSync, constants } from "node:zlib";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { readBlob } from "./registry.mjs";

export async function hashAndGzipFile(path, level) {
  const started = performance.now();
  const raw = createHash("sha256");
  const compressed = createHash("sha256");
  let rawBytes = 0;
  let gzBytes = 0;
  await new Promise((resolve, reject) => {
    const gzip = createGzip({ level, memLevel: 9 });
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    input.on("data", (chunk) => {
      raw.update(chunk);
      rawBytes += chunk.length;
    });
    gzip.on("data", (chunk) => {
      compressed.update(chunk);
      gzBytes += chunk.length;
    });
    gzip.on("end", resolve);
    gzip.on("error", reject);
    input.on("error", reject);
    input.pipe(gzip);
  });
  raw.digest();
  compressed.digest();
  return { ms: performance.now() - started, rawBytes, gzBytes };
}

/**
 * Fetches the given layers (from the upstream registry), un-gzips them into one tar file and
 * measures read + gzip + sha256 over it `repeat` times; returns the median.
 */
export async function measureLimit({ registry, repository, layers, workDir, level = constants.Z_DEFAULT_COMPRESSION, repeat = 3 }) {
  if (layers.length === 0) return { ms: 0, rawBytes: 0, gzBytes: 0, layers: 0 };
  const file = join(workDir, `limit-${process.pid}.tar`);
  const parts = [];
  for (const layer of layers) parts.push(gunzipSync(await readBlob(registry, repository, layer.digest)));
  writeFileSync(file, Buffer.concat(parts));
  try {
    const runs = [];
    for (let i = 0; i < repeat; i++) runs.push(await hashAndGzipFile(file, level));
    runs.sort((a, b) => a.ms - b.ms);
    const mid = runs[Math.floor(runs.length / 2)];
    return { ms: mid.ms, rawBytes: mid.rawBytes, gzBytes: mid.gzBytes, layers: layers.length, gzipLevel: level };
  } finally {
    rmSync(file, { force: true });
  }
}
