import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { pack as tarPack, type Header } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLayer } from "../../../src/image/layer-writer.js";
import { extractLayers, type ExtractableLayer } from "../../../src/image/extract.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { UnsafeLayerEntryError } from "../../../src/errors.js";
import { readAll } from "./helpers.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "flowpack-extract-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type RawEntry = Partial<Header> & { name: string; content?: string };

/** A tar written entry by entry, exactly as given (our builder would refuse most of these). */
async function rawTar(entries: RawEntry[], gzip = true): Promise<ExtractableLayer> {
  const pack = tarPack();
  const bytes = readAll(Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false }));
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (content === undefined) pack.entry({ mtime: new Date(0), ...header }, done);
      else pack.entry({ mtime: new Date(0), ...header }, Buffer.from(content), done);
    });
  }
  pack.finalize();
  const tar = await bytes;
  const blob = gzip ? gzipSync(tar) : tar;
  return { open: () => Readable.from([blob], { objectMode: false }) };
}

async function freshTarget(): Promise<{ root: string; target: string; outside: string }> {
  const root = await mkdtemp(join(tmp, "case-"));
  const target = join(root, "target");
  const outside = join(root, "outside");
  await mkdir(outside);
  return { root, target, outside };
}

describe("extractLayers", () => {
  it("stacks built layers: files with modes, directories, symlinks", async () => {
    const base = await buildLayer(
      [
        { path: "bin/tool", type: "file", mode: 0o755, content: "#!/bin/sh\n" },
        { path: "usr/bin/tool", type: "symlink", linkTarget: "../../bin/tool" },
        { path: "etc/config", type: "file", content: "v1" },
        { path: "etc/setuid", type: "file", mode: 0o4755, content: "s" },
      ],
      { mtime: 0 },
    );
    const app = await buildLayer([{ path: "etc/config", type: "file", content: "v2" }, { path: "app/x.js", type: "file", content: "x" }], { mtime: 0 });
    const { target } = await freshTarget();
    const result = await extractLayers([base, app], target);
    expect(result).toMatchObject({ files: 5, whiteouts: 0 });
    expect(await readFile(join(target, "etc/config"), "utf8")).toBe("v2");
    expect((await stat(join(target, "bin/tool"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(target, "etc/setuid"))).mode & 0o7777).toBe(0o755);
    expect(await readlink(join(target, "usr/bin/tool"))).toBe("../../bin/tool");
    expect(await readFile(join(target, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\n");
  });

  it("applies whiteouts and opaque directories from later layers only", async () => {
    const lower = await rawTar([
      { name: "keep.txt", content: "k" },
      { name: "gone.txt", content: "g" },
      { name: "dir/", type: "directory" },
      { name: "dir/a", content: "a" },
      { name: "opaque/", type: "directory" },
      { name: "opaque/old", content: "old" },
    ]);
    const upper = await rawTar([
      { name: ".wh.gone.txt", content: "" },
      { name: ".wh.dir", content: "" },
      { name: "opaque/", type: "directory" },
      { name: "opaque/new", content: "new" },
      { name: "opaque/.wh..wh..opq", content: "" },
    ]);
    const { target } = await freshTarget();
    const result = await extractLayers([lower, upper], target);
    expect(result.whiteouts).toBe(3);
    expect((await readdir(target)).sort()).toEqual(["keep.txt", "opaque"]);
    expect(await readdir(join(target, "opaque"))).toEqual(["new"]);
  });

  it("reads plain (uncompressed) tar layers too, by media type or by sniffing", async () => {
    const plain = await rawTar([{ name: "./a.txt", content: "plain" }], false);
    const { target } = await freshTarget();
    await extractLayers([plain, { ...plain, mediaType: MediaType.OCI_LAYER }], target);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("plain");
  });

  const unsafe: [what: string, entries: RawEntry[], message: RegExp, options?: { absoluteSymlinks: "keep" }][] = [
    ["a '..' path", [{ name: "../evil", content: "x" }], /entry "\.\.\/evil" contains '\.\.'/],
    ["a '..' in the middle", [{ name: "a/../../evil", content: "x" }], /entry "a\/\.\.\/\.\.\/evil" contains '\.\.'/],
    ["an absolute path", [{ name: "/etc/evil", content: "x" }], /entry "\/etc\/evil" has an absolute path/],
    ["a symlink climbing out", [{ name: "link", type: "symlink", linkname: "../outside" }], /"link" is a symlink to "\.\.\/outside", which leads outside/],
    ["an absolute symlink (default)", [{ name: "link", type: "symlink", linkname: "/etc" }], /"link" is a symlink to the absolute path "\/etc"/],
    [
      "a symlink that leaves through another symlink",
      [
        { name: "sub/", type: "directory" },
        { name: "sub/here", type: "symlink", linkname: "." },
        { name: "sub/sneaky", type: "symlink", linkname: "here/../../outside" },
      ],
      /"sub\/sneaky" is a symlink to "here\/\.\.\/\.\.\/outside", which leads outside/,
    ],
    [
      "a file written through a symlinked directory",
      [
        { name: "dir", type: "symlink", linkname: "/" },
        { name: "dir/evil", content: "x" },
      ],
      /"dir\/evil" would be written through the symlink "dir"/,
      { absoluteSymlinks: "keep" },
    ],
    ["a hard link climbing out", [{ name: "h", type: "link", linkname: "../outside/x" }], /"h" is a hard link to "\.\.\/outside\/x", outside the target folder/],
    ["a hard link to an absolute path", [{ name: "h", type: "link", linkname: "/etc/passwd" }], /"h" is a hard link to the absolute path "\/etc\/passwd"/],
    ["a character device", [{ name: "dev/null", type: "character-device", devmajor: 1, devminor: 3 }], /"dev\/null" is a device file/],
    ["a block device", [{ name: "dev/sda", type: "block-device" }], /"dev\/sda" is a device file/],
    ["a FIFO", [{ name: "pipe", type: "fifo" }], /"pipe" is a FIFO/],
  ];
  it.each(unsafe)("refuses %s, naming the entry, and writes nothing outside", async (_what, entries, message, options) => {
    const { target, outside } = await freshTarget();
    const layer = await rawTar(entries);
    const error = await extractLayers([{ ...layer, digest: "sha256:test" }], target, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeLayerEntryError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^layer 0 \(sha256:test\): entry /);
    expect(await readdir(outside)).toEqual([]);
    await expect(lstat(join(target, "..", "evil"))).rejects.toThrow(/ENOENT/);
  });

  it("keeps absolute symlinks when asked, checked as if the folder were /", async () => {
    const { target } = await freshTarget();
    await extractLayers([await rawTar([{ name: "usr/bin/node", type: "symlink", linkname: "/usr/local/bin/node" }])], target, {
      absoluteSymlinks: "keep",
    });
    expect(await readlink(join(target, "usr/bin/node"))).toBe("/usr/local/bin/node");
  });

  it("creates hard links to files already extracted", async () => {
    const { target } = await freshTarget();
    await extractLayers([await rawTar([{ name: "a", content: "same" }, { name: "b", type: "link", linkname: "a" }])], target);
    expect((await stat(join(target, "a"))).ino).toBe((await stat(join(target, "b"))).ino);
  });
});
