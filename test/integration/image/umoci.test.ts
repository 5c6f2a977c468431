import { mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractLayers } from "../../../src/image/extract.js";
import { layerFromDirectory } from "../../../src/image/layer-directory.js";
import { assembleImage, type Image } from "../../../src/image/image.js";
import { writeImageToLayout } from "../../../src/image/layout.js";
import type { Layer } from "../../../src/image/layer.js";
import { validateLayoutImage } from "../../helpers/validate-image.js";
import { buildHelloImage, exec, HELLO_JS, waitForServices, type HelloImage } from "./hello-image.js";

let tmp: string;
let hello: HelloImage;
let layout: string;

beforeAll(async () => {
  const s = await waitForServices();
  tmp = await mkdtemp(join(tmpdir(), "flowpack-umoci-"));
  hello = await buildHelloImage(s);
  layout = join(tmp, "layout");
  await writeImageToLayout(layout, hello.image, { refName: "hello" });
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("an OCI layout written by flowpack, read by umoci", () => {
  it("passes our own validator (digests, diffIDs, sizes, history)", async () => {
    expect(await validateLayoutImage(layout, "hello")).toEqual([]);
    expect(hello.image.layers).toHaveLength(hello.base.layers.length + 1);
  });

  it("umoci stat shows the manifest and our history entry", async () => {
    const { stdout } = await exec("umoci", ["stat", "--json", "--image", `${layout}:hello`], { timeout: 60_000 });
    const stat = JSON.parse(stdout) as { history: { created_by?: string; layer?: { digest: string } }[] };
    expect(stat.history.at(-1)?.created_by).toBe("flowpack: app (integration test)");
    expect(stat.history.at(-1)?.layer?.digest).toBe(hello.app.digest);
  });

  it("umoci unpack --rootless gives a bundle with the base rootfs and our file, matching our extractor", async () => {
    const bundle = join(tmp, "bundle");
    await exec("umoci", ["unpack", "--rootless", "--image", `${layout}:hello`, bundle], { timeout: 120_000 });
    const rootfs = join(bundle, "rootfs");
    expect(await readFile(join(rootfs, "app", "hello.js"), "utf8")).toBe(HELLO_JS);
    expect((await stat(join(rootfs, "usr", "local", "bin", "node"))).isFile()).toBe(true);
    const runtime = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { process: { args: string[]; cwd: string; env: string[] } };
    expect(runtime.process.args).toEqual(["node", "/app/hello.js"]);
    expect(runtime.process.cwd).toBe("/app");

    // our extractor, on the same layers, agrees on the file and its mode
    const ours = join(tmp, "ours");
    await extractLayers(hello.image.layers, ours, { absoluteSymlinks: "keep" });
    expect(await readFile(join(ours, "app", "hello.js"), "utf8")).toBe(HELLO_JS);
    expect((await stat(join(ours, "usr", "local", "bin", "node"))).mode & 0o777).toBe((await stat(join(rootfs, "usr", "local", "bin", "node"))).mode & 0o777);
    const sh = join("bin", "sh");
    const [a, b] = await Promise.all([readlink(join(ours, sh)).catch(() => "(file)"), readlink(join(rootfs, sh)).catch(() => "(file)")]);
    expect(a).toBe(b);
  });

  it("a node_modules-style layer from a folder unpacks with umoci too", async () => {
    const deps = await layerFromDirectory(join(process.cwd(), "node_modules", "zod"), { prefix: "/app/node_modules/zod", mtime: 0 });
    const image: Image<Layer> = assembleImage(hello.base, { layers: [{ layer: deps, history: { created_by: "deps" } }, { layer: hello.app }] });
    const dir = join(tmp, "deps-layout");
    await writeImageToLayout(dir, image, { refName: "deps" });
    expect(await validateLayoutImage(dir)).toEqual([]);
    const bundle = join(tmp, "deps-bundle");
    await exec("umoci", ["unpack", "--rootless", "--image", `${dir}:deps`, bundle], { timeout: 120_000 });
    const pkg = JSON.parse(await readFile(join(bundle, "rootfs", "app", "node_modules", "zod", "package.json"), "utf8")) as { name: string };
    expect(pkg.name).toBe("zod");
  });
});
