/** Computing content digests (`<algorithm>:<hex>`; what one looks like: digest.ts). */
import { createHash } from "node:crypto";
import type { DigestAlgorithm, Sha256Digest } from "./digest.js";

export function sha256(data: Uint8Array | string): Sha256Digest {
  return computeDigest(data, "sha256") as Sha256Digest;
}

export function computeDigest(bytes: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
