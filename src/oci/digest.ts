import { createHash } from "node:crypto";

export type Sha256Digest = `sha256:${string}`;

export function sha256(data: Uint8Array | string): Sha256Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function isSha256Digest(value: string): value is Sha256Digest {
  return /^sha256:[a-f0-9]{64}$/.test(value);
}
