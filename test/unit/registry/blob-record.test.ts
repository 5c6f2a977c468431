import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileBlobRecord, MAX_RECORDED_BLOBS } from "../../../src/registry/blob-record.js";

const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

describe("FileBlobRecord", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "flowpack-blob-record-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("knows nothing at first, then what was added, per registry and repository", async () => {
    const record = new FileBlobRecord(dir);
    expect([...(await record.known("r:5000", "a"))]).toEqual([]);
    await record.add("r:5000", "a", [d(1), d(2)]);
    await record.add("r:5000", "a", [d(2), d(3)]);
    expect([...(await new FileBlobRecord(dir).known("r:5000", "a"))].sort()).toEqual([d(1), d(2), d(3)]);
    expect([...(await record.known("r:5000", "b"))]).toEqual([]);
    expect([...(await record.known("other:5000", "a"))]).toEqual([]);
  });

  it("forgets a repository", async () => {
    const record = new FileBlobRecord(dir);
    await record.add("r", "a", [d(1)]);
    await record.add("r", "b", [d(1)]);
    await record.forget("r", "a");
    expect([...(await record.known("r", "a"))]).toEqual([]);
    expect([...(await record.known("r", "b"))]).toEqual([d(1)]);
  });

  it("keeps the most recent digests only", async () => {
    const record = new FileBlobRecord(dir);
    await record.add("r", "a", Array.from({ length: MAX_RECORDED_BLOBS + 10 }, (_, i) => d(i)));
    const known = await record.known("r", "a");
    expect(known.size).toBe(MAX_RECORDED_BLOBS);
    expect(known.has(d(0))).toBe(false);
    expect(known.has(d(MAX_RECORDED_BLOBS + 9))).toBe(true);
  });

  it("a corrupt or foreign file reads as empty, and is replaced on the next add", async () => {
    const record = new FileBlobRecord(dir);
    await record.add("r", "a", [d(1)]);
    const [file] = readdirSync(record.dir);
    writeFileSync(join(record.dir, file!), "{not json");
    expect([...(await record.known("r", "a"))]).toEqual([]);
    writeFileSync(join(record.dir, file!), JSON.stringify({ version: 1, registry: "r", repository: "other", digests: [d(1)] }));
    expect([...(await record.known("r", "a"))]).toEqual([]);
    await record.add("r", "a", [d(2)]);
    expect([...(await record.known("r", "a"))]).toEqual([d(2)]);
  });

  it("an unusable cache folder: nothing known, adds ignored", async () => {
    const file = join(dir, "file");
    writeFileSync(file, "x");
    const record = new FileBlobRecord(file);
    await record.add("r", "a", [d(1)]);
    expect([...(await record.known("r", "a"))]).toEqual([]);
  });
});
