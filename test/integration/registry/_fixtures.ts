/** Shared fixtures for the registry integration tests (not a test file itself). */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlobSource } from "../../../src/registry/blobs.js";
import { MediaType } from "../../../src/oci/media-types.js";
import type { RetryPolicy } from "../../../src/registry/retry.js";

/** Retries fast enough for tests; Retry-After up to 2 s is honoured. */
export const fastRetry: Partial<RetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 5,
  maxDelayMs: 40,
  jitter: 0,
  maxRetryAfterMs: 2_000,
  maxElapsedMs: 15_000,
};

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface TestBlob extends BlobSource {
  bytes: Uint8Array;
}

export function blobOf(bytes: Uint8Array, mediaType = "application/octet-stream"): TestBlob {
  return { digest: digestOf(bytes), size: bytes.length, mediaType, bytes, body: () => bytes };
}

export function randomBlob(size: number): TestBlob {
  return blobOf(randomBytes(size), "application/vnd.oci.image.layer.v1.tar+gzip");
}

export interface TestImage {
  config: TestBlob;
  layers: TestBlob[];
  blobs: TestBlob[];
  manifest: Uint8Array;
  mediaType: string;
  digest: string;
}

/** A small OCI image with random content: a config blob and `layerSizes.length` layers. */
export function randomImage(layerSizes: number[] = [64 * 1024]): TestImage {
  const layers = layerSizes.map((size) => randomBlob(size));
  const config = blobOf(
    Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(8).toString("hex") })),
    "application/vnd.oci.image.config.v1+json",
  );
  const describe = (b: TestBlob): { mediaType: string; digest: string; size: number } => ({
    mediaType: b.mediaType ?? "application/octet-stream",
    digest: b.digest,
    size: b.size,
  });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: describe(config),
      layers: layers.map(describe),
    }),
  );
  return { config, layers, blobs: [config, ...layers], manifest, mediaType: MediaType.OCI_MANIFEST, digest: digestOf(manifest) };
}

export function uniqueRepo(name: string): string {
  return `flowpack-test/registry-${name}-${randomBytes(4).toString("hex")}`;
}

export interface TempDir {
  path: string;
  remove(): void;
}

export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `flowpack-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A docker config dir holding `config` as config.json. */
export function dockerConfigDir(config: unknown): TempDir {
  const dir = tempDir("docker-config");
  writeFileSync(join(dir.path, "config.json"), JSON.stringify(config));
  return dir;
}

export function basicAuth(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString("base64");
}
