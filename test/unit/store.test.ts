import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/oci/compute-digest.js";
import { StoreError } from "../../src/errors.js";
import { ContentStore } from "../../src/store/content-store.js";

const freshStore = () => new ContentStore(mkdtempSync(join(tmpdir(), "flowpack-store-")));

describe("ContentStore", () => {
  it("stores bytes under their sha256 and reads them back", async () => {
    const store = freshStore();
    const key = await store.put(Buffer.from("hello"));
    expect(key).toBe(sha256("hello"));
    expect((await store.get(key)).toString()).toBe("hello");
    expect(await store.put(Buffer.from("hello"))).toBe(key);
    expect(readdirSync(join(store.root, "sha256"))).toEqual([key.slice(7)]);
  });

  it("a corrupted object is a clear error", async () => {
    const store = freshStore();
    const key = await store.put(Buffer.from("hello"));
    writeFileSync(store.pathOf(key), "hellO");
    await expect(store.get(key)).rejects.toThrowError(new RegExp(`object ${key} in the store .* is corrupted`));
  });

  it("a missing object is a clear error", async () => {
    const store = freshStore();
    await expect(store.get(sha256("absent"))).rejects.toBeInstanceOf(StoreError);
    await expect(store.get(sha256("absent"))).rejects.toThrowError(/is missing from the store/);
  });

  it("rejects keys that are not sha256 digests (no path tricks)", async () => {
    await expect(freshStore().get("sha256:../../etc/passwd")).rejects.toThrowError(/invalid object key/);
  });
});
