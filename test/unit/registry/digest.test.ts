import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { countedStream } from "../../../src/registry/body.js";
import { computeDigest } from "../../../src/oci/compute-digest.js";
import { VerifyingStream, verifyBytes } from "../../../src/registry/digest.js";
import { DigestMismatchError } from "../../../src/registry/errors.js";
import { withDigest } from "../../../src/registry/blobs.js";

const bytes = Buffer.from("hello, registry");
const digest = computeDigest(bytes);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("digests", () => {
  it("verifies bytes against digest and size", () => {
    expect(() => verifyBytes(bytes, digest, bytes.length, "blob")).not.toThrow();
    expect(() => verifyBytes(bytes, digest, 3, "blob")).toThrow(DigestMismatchError);
    expect(() => verifyBytes(Buffer.from("x"), digest, undefined, "blob")).toThrow(/does not match its digest/);
    expect(computeDigest(bytes, "sha512")).toMatch(/^sha512:[a-f0-9]{128}$/);
  });

  it("VerifyingStream passes bytes and fails at the end on a mismatch", async () => {
    const ok = new VerifyingStream(digest, bytes.length, "blob");
    await expect(drain(Readable.from([bytes]).pipe(ok))).resolves.toEqual(bytes);
    const bad = new VerifyingStream(digest, undefined, "blob");
    await expect(pipeline(Readable.from([Buffer.from("tampered")]), bad, async function* (src) {
      for await (const _ of src) yield _;
    })).rejects.toBeInstanceOf(DigestMismatchError);
    const long = new VerifyingStream(digest, 4, "blob");
    await expect(pipeline(Readable.from([bytes]), long)).rejects.toThrow(/more than the expected 4 bytes/);
  });
});

describe("countedStream", () => {
  it("reports progress and checks the byte count", async () => {
    const seen: number[] = [];
    const big = Buffer.alloc(600 * 1024, 7);
    const out = await drain(countedStream(big, big.length, "blob", (n) => seen.push(n)));
    expect(out.equals(big)).toBe(true);
    expect(seen.at(-1)).toBe(big.length);
    expect(seen.length).toBeGreaterThan(1);
    await expect(drain(countedStream(bytes, bytes.length + 1, "blob x", () => {}))).rejects.toThrow(
      `blob x: the body has ${bytes.length} bytes, ${bytes.length + 1} were declared`,
    );
    await expect(drain(countedStream(Readable.from([bytes, bytes]), bytes.length, "blob", () => {}))).rejects.toThrow(
      /more than the declared/,
    );
  });
});

describe("upload locations", () => {
  it("appends digest= keeping the registry's own query exactly", () => {
    const location = new URL("http://r/v2/a/blobs/uploads/u?_state=ab%3D%3D+x~y");
    expect(withDigest(location, digest).href).toBe(`http://r/v2/a/blobs/uploads/u?_state=ab%3D%3D+x~y&digest=${encodeURIComponent(digest)}`);
    expect(withDigest(new URL("http://r/v2/a/blobs/uploads/u"), digest).search).toBe(`?digest=${encodeURIComponent(digest)}`);
  });
});
