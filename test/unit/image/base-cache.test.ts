import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BaseImageCache, baseTtlMs } from "../../../src/image/base-cache.js";
import { sha256 } from "../../../src/oci/compute-digest.js";

describe("BaseImageCache", () => {
  let dir: string;
  let clock: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "flowpack-base-cache-"));
    clock = 1_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const cache = (ttlMs = 60_000) => new BaseImageCache(dir, ttlMs, () => clock);

  it("a tag's digest is reused for the TTL, then asked again; a digest reference forever", async () => {
    const digest = sha256("manifest");
    await cache().remember("r/node:20 linux/amd64", digest);
    await cache().remember(`r/node@${digest} linux/amd64`, digest);
    expect(await cache().resolved("r/node:20 linux/amd64", false)).toBe(digest);
    clock += 60_001;
    expect(await cache().resolved("r/node:20 linux/amd64", false)).toBeUndefined();
    expect(await cache().resolved(`r/node@${digest} linux/amd64`, true)).toBe(digest);
    expect(await cache().resolved("r/node:21 linux/amd64", false)).toBeUndefined();
  });

  it("TTL 0: a tag is always asked again", async () => {
    await cache(0).remember("k", sha256("m"));
    expect(await cache(0).resolved("k", false)).toBeUndefined();
  });

  it("blobs by digest, checked when read back", async () => {
    const bytes = Buffer.from("config");
    const digest = sha256(bytes);
    await cache().store(digest, bytes);
    expect((await cache().blob(digest))?.toString()).toBe("config");
    await cache().store(sha256("other"), bytes); // refused: not its digest
    expect(await cache().blob(sha256("other"))).toBeUndefined();
    const blobs = join(dir, "bases", "blobs");
    // a private base's config may carry secrets in its ENV: this user's only
    expect(statSync(blobs).mode & 0o777).toBe(0o700);
    expect(statSync(join(blobs, readdirSync(blobs)[0]!)).mode & 0o777).toBe(0o600);
    writeFileSync(join(blobs, readdirSync(blobs)[0]!), "tampered");
    expect(await cache().blob(digest)).toBeUndefined();
  });
});

describe("baseTtlMs (FLOWPACK_BASE_TTL)", () => {
  it("defaults to 60 s, takes seconds ≥ 0, refuses the rest", () => {
    expect(baseTtlMs({})).toBe(60_000);
    expect(baseTtlMs({ FLOWPACK_BASE_TTL: "0" })).toBe(0);
    expect(baseTtlMs({ FLOWPACK_BASE_TTL: "2.5" })).toBe(2500);
    expect(baseTtlMs({ FLOWPACK_BASE_TTL: "-1" })).toBeUndefined();
    expect(baseTtlMs({ FLOWPACK_BASE_TTL: "soon" })).toBeUndefined();
  });
});
