import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readImageFromLayout, writeImageToLayout } from "../../../src/image/layout.js";
import { writeDockerArchive } from "../../../src/image/docker-archive.js";
import { validateLayoutImage } from "../../helpers/validate-image.js";
import { buildHelloImage, exec, waitForServices, type HelloImage } from "./hello-image.js";

let tmp: string;
let hello: HelloImage;
let layout: string;

beforeAll(async () => {
  const s = await waitForServices();
  tmp = await mkdtemp(join(tmpdir(), "flowpack-skopeo-"));
  hello = await buildHelloImage(s);
  layout = join(tmp, "layout");
  await writeImageToLayout(layout, hello.image, { refName: "hello" });
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const skopeo = (args: string[]) => exec("skopeo", ["--insecure-policy", ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });

describe("skopeo and flowpack's image files", () => {
  it("skopeo inspect oci:DIR:hello reports our digest, layers and config", async () => {
    const { stdout } = await skopeo(["inspect", `oci:${layout}:hello`]);
    const info = JSON.parse(stdout) as { Digest: string; Layers: string[]; Architecture: string; Os: string; Env: string[]; Labels: Record<string, string> };
    expect(info.Digest).toBe(hello.image.manifestDigest);
    expect(info.Layers).toEqual(hello.image.layers.map((l) => l.digest));
    expect(info.Architecture).toBe(hello.base.config.architecture);
    expect(info.Labels["org.flowpack.test"]).toBe("image");
    const config = JSON.parse((await skopeo(["inspect", "--raw", "--config", `oci:${layout}:hello`])).stdout) as unknown;
    expect(config).toEqual(JSON.parse(hello.image.configBytes.toString()));
  });

  it("skopeo copies our layout to a docker-archive and back to a layout that validates, keeping the diffIDs", async () => {
    const archive = join(tmp, "from-skopeo.tar");
    await skopeo(["copy", `oci:${layout}:hello`, `docker-archive:${archive}:flowpack-test/hello:skopeo`]);
    const back = join(tmp, "back");
    await skopeo(["copy", `docker-archive:${archive}`, `oci:${back}:back`]);
    expect(await validateLayoutImage(back)).toEqual([]);
    const read = await readImageFromLayout(back);
    expect(read.config.rootfs.diff_ids).toEqual(hello.image.config.rootfs.diff_ids);
  });

  it.each(["gzip", "uncompressed"] as const)("skopeo reads our docker-archive (%s layers) into a layout that validates", async (layerFormat) => {
    const archive = join(tmp, `ours-${layerFormat}.tar`);
    await writeDockerArchive(hello.image, archive, { repoTags: ["flowpack-test/hello:ours"], layerFormat });
    const { stdout } = await skopeo(["inspect", `docker-archive:${archive}`]);
    expect((JSON.parse(stdout) as { RepoTags: string[] }).RepoTags).toBeDefined();
    const dir = join(tmp, `from-ours-${layerFormat}`);
    await skopeo(["copy", `docker-archive:${archive}`, `oci:${dir}:copy`]);
    expect(await validateLayoutImage(dir)).toEqual([]);
    const copy = await readImageFromLayout(dir, { refName: "copy" });
    expect(copy.config.rootfs.diff_ids).toEqual(hello.image.config.rootfs.diff_ids);
    // skopeo converts docker-archive → OCI by re-serialising the config: same content, its own key order
    expect(JSON.parse(copy.configBytes.toString())).toEqual(JSON.parse(hello.image.configBytes.toString()));
  });
});
