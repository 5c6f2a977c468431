import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDockerArchive } from "../../../src/image/docker-archive.js";
import { writeImageToLayout } from "../../../src/image/layout.js";
import type { Services } from "../../helpers/services.js";
import { validateLayoutImage } from "../../helpers/validate-image.js";
import { buildHelloImage, dockerCli, exec, HELLO_OUTPUT, waitForServices, type HelloImage } from "./hello-image.js";

let tmp: string;
let s: Services;
let hello: HelloImage;
const loaded: string[] = [];

beforeAll(async () => {
  s = await waitForServices();
  tmp = await mkdtemp(join(tmpdir(), "flowpack-docker-load-"));
  hello = await buildHelloImage(s);
});
afterAll(async () => {
  if (loaded.length > 0) {
    const cli = dockerCli(s, join(tmp, "docker-config"));
    await exec(cli.file, ["image", "rm", "--force", ...loaded], { env: cli.env, timeout: 60_000 }).catch(() => undefined);
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("docker load of a flowpack docker-archive", () => {
  it.each(["gzip", "uncompressed"] as const)("loads (%s layers) and runs node /app/hello.js offline", async (layerFormat) => {
    const tag = `flowpack-test/hello:image-${layerFormat}-${randomBytes(4).toString("hex")}`;
    const layout = join(tmp, `layout-${layerFormat}`);
    await writeImageToLayout(layout, hello.image, { refName: "hello" });
    expect(await validateLayoutImage(layout)).toEqual([]);
    const archive = join(tmp, `hello-${layerFormat}.tar`);
    await writeDockerArchive(hello.image, archive, { repoTags: [tag], layerFormat });

    const cli = dockerCli(s, join(tmp, "docker-config"));
    const docker = (args: string[], timeout = 120_000) => exec(cli.file, args, { env: cli.env, timeout });
    const load = await docker(["load", "-i", archive]);
    loaded.push(tag);
    expect(load.stdout).toContain(`Loaded image: ${tag}`);

    const inspect = JSON.parse((await docker(["image", "inspect", tag])).stdout) as [{ Id: string; RootFS: { Layers: string[] }; Config: { User: string } }];
    expect(inspect[0].Id).toBe(hello.image.configDigest);
    expect(inspect[0].RootFS.Layers).toEqual(hello.image.config.rootfs.diff_ids);
    expect(inspect[0].Config.User).toBe("1000:1000");

    const run = await docker(["run", "--rm", "--network", "none", tag, "node", "/app/hello.js"]);
    expect(run.stdout.trim()).toMatch(new RegExp(`^${HELLO_OUTPUT} v\\d+\\.\\d+\\.\\d+ 1000$`));
    const cmd = await docker(["run", "--rm", "--network", "none", tag]);
    expect(cmd.stdout).toContain(HELLO_OUTPUT);
  });
});
