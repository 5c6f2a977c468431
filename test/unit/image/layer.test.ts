import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bufferLayer, type LayerEntry } from "../../../src/image/layer.js";
import { buildLayer, sourceDateEpoch } from "../../../src/image/layer-writer.js";
import { layerFromDirectory } from "../../../src/image/layer-directory.js";
import { LayerError } from "../../../src/errors.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { normaliseEntryPath } from "../../../src/image/layer-entries.js";
import { gunzipSha256sum, readAll, run, sha256sum, tarItems } from "./helpers.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "flowpack-layer-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const entries = (): LayerEntry[] => [
  { path: "/app/hello.js", type: "file", content: "console.log('hello');\n" },
  { path: "app/lib/util.js", type: "file", mode: 0o644, content: Buffer.from("export const x = 1;\n") },
  { path: "./app/bin/run", type: "file", mode: 0o755, content: "#!/bin/sh\necho run\n" },
  { path: "app/current", type: "symlink", linkTarget: "lib" },
  { path: "app/data/", type: "dir", mode: 0o700, uid: 1000, gid: 1000 },
  { path: "etc/flowpack.json", type: "file", content: "{}" },
];

describe("buildLayer", () => {
  it("gives byte-identical layers for the same entries in any order", async () => {
    const a = await buildLayer(entries(), { mtime: 0 });
    const b = await buildLayer([...entries()].reverse(), { mtime: 0 });
    const shuffled = entries();
    shuffled.push(shuffled.shift()!, shuffled.shift()!);
    const c = await buildLayer(shuffled, { mtime: 0 });
    const [ba, bb, bc] = await Promise.all([readAll(a.open()), readAll(b.open()), readAll(c.open())]);
    expect(ba.equals(bb)).toBe(true);
    expect(ba.equals(bc)).toBe(true);
    expect(a.digest).toBe(b.digest);
    expect(a.diffId).toBe(c.diffId);
    expect(a.size).toBe(ba.length);
    expect(a.mediaType).toBe(MediaType.OCI_LAYER_GZIP);
  });

  it("writes sorted entries with implicit parents, fixed mtime, ids as given and no user names", async () => {
    const layer = await buildLayer(entries(), { mtime: 1_700_000_000, parentOwner: { uid: 7, gid: 8 } });
    const items = await tarItems(await readAll(layer.open()));
    expect(items.map((i) => i.header.name)).toEqual([
      "app/",
      "app/bin/",
      "app/bin/run",
      "app/current",
      "app/data/",
      "app/hello.js",
      "app/lib/",
      "app/lib/util.js",
      "etc/",
      "etc/flowpack.json",
    ]);
    const byName = new Map(items.map((i) => [i.header.name, i]));
    for (const item of items) {
      expect(item.header.mtime?.getTime()).toBe(1_700_000_000_000);
      expect(item.header.uname).toBe("");
      expect(item.header.gname).toBe("");
    }
    expect(byName.get("app/")?.header).toMatchObject({ type: "directory", mode: 0o755, uid: 7, gid: 8 });
    expect(byName.get("app/data/")?.header).toMatchObject({ type: "directory", mode: 0o700, uid: 1000, gid: 1000 });
    expect(byName.get("app/bin/run")?.header).toMatchObject({ type: "file", mode: 0o755, uid: 0, gid: 0 });
    expect(byName.get("app/hello.js")?.header.mode).toBe(0o644);
    expect(byName.get("app/current")?.header).toMatchObject({ type: "symlink", linkname: "lib", mode: 0o777 });
    expect(byName.get("app/hello.js")?.content.toString()).toBe("console.log('hello');\n");
    expect(layer.entryCount).toBe(10);
  });

  it("has digest = sha256sum(blob) and diffID = sha256sum(gunzip(blob)), and a normalised gzip header", async () => {
    const file = join(tmp, "digest", "layer.tar.gz");
    const layer = await buildLayer(entries(), { mtime: 0, output: { file } });
    expect(layer.path).toBe(file);
    expect(await sha256sum(file)).toBe(layer.digest);
    expect(await gunzipSha256sum(file)).toBe(layer.diffId);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(layer.size);
    // magic, deflate, no flags, MTIME 0, XFL (level 6 → 0), OS 3 (Unix)
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect((await readdir(join(tmp, "digest"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    // `open()` gives the same bytes again (a registry retry re-reads it).
    expect((await readAll(layer.open())).equals(bytes)).toBe(true);
    expect((await readAll(layer.open())).equals(bytes)).toBe(true);
  });

  it("gives the same blob in memory and on disk, whether content is a Buffer or a file, at every level", async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17); // > 1 MiB: streamed from disk in pieces
    const small = Buffer.from("small file\n".repeat(1000));
    await writeFile(join(tmp, "big.bin"), big);
    await writeFile(join(tmp, "small.txt"), small);
    for (const level of [0, 1, 6, 9]) {
      const inMemory = await buildLayer(
        [
          { path: "data/big.bin", type: "file", content: big },
          { path: "data/small.txt", type: "file", content: small },
        ],
        { mtime: 0, compressionLevel: level },
      );
      const fromFiles = await buildLayer(
        [
          { path: "data/big.bin", type: "file", content: { fromFile: join(tmp, "big.bin"), size: big.length } },
          { path: "data/small.txt", type: "file", content: { fromFile: join(tmp, "small.txt"), size: small.length } },
        ],
        { mtime: 0, compressionLevel: level, output: { file: join(tmp, `level-${level}.tgz`) } },
      );
      expect(fromFiles.digest, `level ${level}`).toBe(inMemory.digest);
      expect(fromFiles.diffId).toBe(inMemory.diffId);
      const items = await tarItems(await readFile(join(tmp, `level-${level}.tgz`)));
      expect(items.find((i) => i.header.name === "data/big.bin")?.content.equals(big)).toBe(true);
    }
  });

  it("writes long and non-ASCII names deterministically (PAX) and system tar reads them", async () => {
    const long = `deep/${"x".repeat(120)}/${"y".repeat(120)}/file.txt`;
    const list: LayerEntry[] = [
      { path: long, type: "file", content: "long" },
      { path: "ünïcödé/名前.txt", type: "file", content: "utf8" },
      { path: "links/far", type: "symlink", linkTarget: `../${"z".repeat(150)}` },
    ];
    const a = await buildLayer(list, { mtime: 0, output: { file: join(tmp, "pax.tgz") } });
    const b = await buildLayer([...list].reverse(), { mtime: 0 });
    expect(a.digest).toBe(b.digest);
    const { stdout } = await run("tar", ["-tzf", join(tmp, "pax.tgz")], { timeout: 30_000 });
    expect(stdout.split("\n")).toEqual(expect.arrayContaining([long, "ünïcödé/名前.txt", "links/far"]));
  });

  it("honours SOURCE_DATE_EPOCH, and the mtime option over it", async () => {
    const previous = process.env.SOURCE_DATE_EPOCH;
    try {
      process.env.SOURCE_DATE_EPOCH = "1234567890";
      expect(sourceDateEpoch()).toBe(1234567890);
      const fromEnv = await buildLayer([{ path: "a", type: "file" }]);
      expect((await tarItems(await readAll(fromEnv.open())))[0]?.header.mtime?.getTime()).toBe(1234567890_000);
      const explicit = await buildLayer([{ path: "a", type: "file" }], { mtime: new Date(5_000) });
      expect((await tarItems(await readAll(explicit.open())))[0]?.header.mtime?.getTime()).toBe(5_000);
      process.env.SOURCE_DATE_EPOCH = "yesterday";
      await expect(buildLayer([{ path: "a", type: "file" }])).rejects.toThrow(/SOURCE_DATE_EPOCH="yesterday"/);
      delete process.env.SOURCE_DATE_EPOCH;
      expect(sourceDateEpoch()).toBe(0);
    } finally {
      if (previous === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = previous;
    }
  });

  it.each([
    ["../etc/passwd", /contains '\.\.'/],
    ["app/../../etc/passwd", /contains '\.\.'/],
    ["/", /root directory/],
    ["./", /root directory/],
    ["", /is empty/],
    ["a\0b", /NUL/],
  ])("refuses the entry path %j", async (path, message) => {
    await expect(buildLayer([{ path, type: "file", content: "x" }])).rejects.toThrow(message);
    await expect(buildLayer([{ path, type: "file", content: "x" }])).rejects.toBeInstanceOf(LayerError);
  });

  it("refuses duplicates, files used as directories, and bad fields, naming the entry", async () => {
    await expect(buildLayer([{ path: "/a", type: "file" }, { path: "a", type: "dir" }])).rejects.toThrow(/"a" appears twice/);
    await expect(buildLayer([{ path: "a", type: "file" }, { path: "a/b", type: "file" }])).rejects.toThrow(
      /"a\/b" is inside "a", which is a file/,
    );
    await expect(buildLayer([{ path: "l", type: "symlink" }])).rejects.toThrow(/"l": a symlink needs a non-empty linkTarget/);
    await expect(buildLayer([{ path: "f", type: "file", mode: 0o10000 }])).rejects.toThrow(/"f": mode/);
    await expect(buildLayer([{ path: "f", type: "file", uid: -1 }])).rejects.toThrow(/"f": uid/);
    await expect(buildLayer([{ path: "d", type: "dir", content: "x" }])).rejects.toThrow(/"d": only files have content/);
    await expect(buildLayer([{ path: "f", type: "file" }], { compressionLevel: 11 })).rejects.toThrow(/compressionLevel/);
    await expect(buildLayer([{ path: "f", type: "file" }], { mediaType: MediaType.OCI_LAYER })).rejects.toThrow(/gzip layer media type/);
  });

  it("fails clearly when a file's size differs from what was declared, leaving no partial output", async () => {
    await writeFile(join(tmp, "changing.txt"), "12345");
    const out = join(tmp, "changing", "layer.tgz");
    await expect(
      buildLayer([{ path: "c.txt", type: "file", content: { fromFile: join(tmp, "changing.txt"), size: 3 } }], { output: { file: out } }),
    ).rejects.toThrow(/changing\.txt changed while the layer was built \(expected 3 bytes, found more\)/);
    expect(await readdir(join(tmp, "changing"))).toEqual([]);
    await expect(buildLayer([{ path: "m", type: "file", content: { fromFile: join(tmp, "missing"), size: 1 } }])).rejects.toThrow(
      /"m": cannot read .*missing/,
    );
  });

  it("fails the same way for a large (streamed) file that grew, and stops on abort, leaving no output", async () => {
    const big = join(tmp, "big-growing.bin");
    await writeFile(big, randomBytes(2 * 1024 * 1024));
    const out = join(tmp, "streamed", "layer.tgz");
    await expect(
      buildLayer([{ path: "big", type: "file", content: { fromFile: big, size: 1024 * 1024 + 1 } }], { output: { file: out } }),
    ).rejects.toThrow(/big-growing\.bin changed while the layer was built \(expected 1048577 bytes, found more\)/);
    await expect(
      buildLayer([{ path: "big", type: "file", content: { fromFile: big, size: 3 * 1024 * 1024 } }], { output: { file: out } }),
    ).rejects.toThrow(/expected 3145728 bytes, found 2097152/);
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    await expect(
      buildLayer([{ path: "big", type: "file", content: { fromFile: big, size: 2 * 1024 * 1024 } }], { output: { file: out }, signal: controller.signal }),
    ).rejects.toThrow(/stop now/);
    expect(await readdir(join(tmp, "streamed"))).toEqual([]);
  });

  it("bufferLayer recomputes the same digest and diffID from the blob", async () => {
    const built = await buildLayer(entries(), { mtime: 0 });
    const again = await bufferLayer(await readAll(built.open()));
    expect({ digest: again.digest, diffId: again.diffId, size: again.size }).toEqual({
      digest: built.digest,
      diffId: built.diffId,
      size: built.size,
    });
  });

  it("normaliseEntryPath", () => {
    expect(normaliseEntryPath("/a//b/./c/")).toBe("a/b/c");
    expect(() => normaliseEntryPath("a/..")).toThrow(LayerError);
  });
});

describe("layerFromDirectory", () => {
  /** The same tree, created in a different order, with different umask-style modes and mtimes. */
  async function makeTree(root: string, variant: 0 | 1): Promise<void> {
    const files: [string, string, number][] = [
      ["package.json", '{"name":"x"}', variant ? 0o600 : 0o644],
      ["lib/index.js", "module.exports = 1;\n", variant ? 0o640 : 0o664],
      ["lib/deep/more.js", "more\n", variant ? 0o600 : 0o644],
      ["bin/cli.js", "#!/usr/bin/env node\n", variant ? 0o700 : 0o775],
      ["empty.txt", "", variant ? 0o400 : 0o666],
    ];
    const order = variant ? [...files].reverse() : files;
    for (const [rel, content, mode] of order) {
      await mkdir(join(root, rel, ".."), { recursive: true, mode: variant ? 0o700 : 0o775 });
      await writeFile(join(root, rel), content);
      await chmod(join(root, rel), mode);
      const when = variant ? new Date(2001, 1, 1) : new Date(2024, 5, 6);
      await utimes(join(root, rel), when, when);
    }
    await mkdir(join(root, "emptydir"), { mode: variant ? 0o700 : 0o755 });
    await mkdir(join(root, ".bin"), { recursive: true });
    await symlink("../bin/cli.js", join(root, ".bin", "cli"));
    await symlink("lib", join(root, "lib-link"));
  }

  it("is byte-identical whatever the listing order, modes from umask, or mtimes", async () => {
    const a = join(tmp, "tree-a");
    const b = join(tmp, "tree-b");
    await makeTree(a, 0);
    await makeTree(b, 1);
    const la = await layerFromDirectory(a, { prefix: "/app/node_modules", mtime: 0 });
    const lb = await layerFromDirectory(b, { prefix: "/app/node_modules", mtime: 0 });
    expect(lb.digest).toBe(la.digest);
    expect(lb.diffId).toBe(la.diffId);
    expect(la.fileCount).toBe(5);
    const items = await tarItems(await readAll(la.open()));
    const modes = Object.fromEntries(items.map((i) => [i.header.name, [i.header.type, i.header.mode!.toString(8)]]));
    expect(modes).toEqual({
      "app/": ["directory", "755"],
      "app/node_modules/": ["directory", "755"],
      "app/node_modules/.bin/": ["directory", "755"],
      "app/node_modules/.bin/cli": ["symlink", "777"],
      "app/node_modules/bin/": ["directory", "755"],
      "app/node_modules/bin/cli.js": ["file", "755"],
      "app/node_modules/empty.txt": ["file", "644"],
      "app/node_modules/emptydir/": ["directory", "755"],
      "app/node_modules/lib/": ["directory", "755"],
      "app/node_modules/lib/deep/": ["directory", "755"],
      "app/node_modules/lib/deep/more.js": ["file", "644"],
      "app/node_modules/lib/index.js": ["file", "644"],
      "app/node_modules/lib-link": ["symlink", "777"],
      "app/node_modules/package.json": ["file", "644"],
    });
  });

  it("applies owner and filter", async () => {
    const root = join(tmp, "tree-a");
    const layer = await layerFromDirectory(root, {
      prefix: "srv",
      owner: { uid: 1000, gid: 1000 },
      filter: (rel) => !rel.startsWith("lib"),
    });
    const items = await tarItems(await readAll(layer.open()));
    expect(items.some((i) => i.header.name.includes("lib"))).toBe(false);
    expect(items.every((i) => i.header.uid === 1000 && i.header.gid === 1000)).toBe(true);
  });

  it("rewrites an absolute symlink that points inside the folder as a relative one", async () => {
    const root = join(tmp, "abs-inside");
    await mkdir(join(root, "pkg"), { recursive: true });
    await writeFile(join(root, "pkg", "main.js"), "x");
    await symlink(join(root, "pkg", "main.js"), join(root, "main"));
    const items = await tarItems(await readAll((await layerFromDirectory(root)).open()));
    expect(items.find((i) => i.header.name === "main")?.header.linkname).toBe("pkg/main.js");
  });

  it.each([
    ["a relative target climbing out", (root: string) => symlink("../../etc/passwd", join(root, "sub", "escape")), /"sub\/escape" .* points to "\.\.\/\.\.\/etc\/passwd", outside the folder/],
    ["an absolute target elsewhere", (root: string) => symlink("/etc/passwd", join(root, "abs")), /"abs" .* points to "\/etc\/passwd", outside the folder/],
    [
      "a target whose text stays inside but resolves outside through another link",
      async (root: string) => {
        await symlink(".", join(root, "sub", "here"));
        await symlink("here/../../etc", join(root, "sub", "sneaky"));
      },
      /"sub\/sneaky" .* leads outside the folder through another symlink/,
    ],
  ])("refuses a symlink with %s", async (_what, make, message) => {
    const root = await mkdtemp(join(tmp, "escape-"));
    await mkdir(join(root, "sub"));
    await writeFile(join(root, "sub", "ok.txt"), "ok");
    await make(root);
    const error = await layerFromDirectory(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerError);
    expect((error as Error).message).toMatch(message);
    expect((error as LayerError).hint).toMatch(/filter option/);
  });

  it("refuses sockets and FIFOs, naming the path", async () => {
    const root = await mkdtemp(join(tmp, "fifo-"));
    await run("mkfifo", [join(root, "pipe")], { timeout: 10_000 });
    await expect(layerFromDirectory(root)).rejects.toThrow(/pipe is a socket, FIFO or device file/);
    await expect(layerFromDirectory(join(tmp, "does-not-exist"))).rejects.toThrow(/cannot read folder/);
  });
});
