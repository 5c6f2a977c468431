/**
 * Content digests (`<algorithm>:<hex>`): the one rule for what a digest looks like. Registries may
 * use sha256 or sha512; everything flowpack writes is sha256. Computing one is compute-digest.ts:
 * checking a manifest (every `flowpack run`) does not load node:crypto (~5–8 ms here).
 */
import * as z from "../_internal/zod-mini.js";

export type Sha256Digest = `sha256:${string}`;
export type DigestAlgorithm = "sha256" | "sha512";

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * A `sha256:<hex>` string as a plain zod schema: no transform, so it converts to JSON Schema
 * (the manifest's published schema uses it).
 */
export const sha256DigestSchema = z.string().check(z.regex(SHA256_DIGEST, "expected sha256:<64 lowercase hex digits>"));

export function isSha256Digest(value: string): value is Sha256Digest {
  return SHA256_DIGEST.test(value);
}

/** A sha256 or sha512 digest, with the right number of lowercase hex digits. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** The digest's algorithm, when it is one we can compute. */
export function algorithmOf(digest: string): DigestAlgorithm | undefined {
  const algorithm = digest.split(":", 1)[0];
  return algorithm === "sha256" || algorithm === "sha512" ? algorithm : undefined;
}
