import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { dockerOnPodman, podmanHost, skopeoInspect } from "../../helpers/docker.js";
import { example } from "../../helpers/paths.js";
import { validatePushed } from "../../helpers/registry-image.js";
import { services } from "../../helpers/services.js";

/**
 * Everything flowpack does through an engine, with DOCKER_HOST pointing at Podman's
 * Docker-compatible API (Debian's podman 4.3, started by scripts/services.sh): build, push,
 * load, pull and run. Podman refuses request options Docker ignores (an empty `labels=`).
 */
const work = mkdtempSync(join(tmpdir(), "flowpack-podman-"));
let env: NodeJS.ProcessEnv;

const flowContainers = async () => (await dockerOnPodman(["ps", "-aq", "--filter", "label=dev.flowpack.run"])).stdout.trim();

describe("through Podman's Docker-compatible API", () => {
  beforeAll(() => {
    env = { DOCKER_HOST: podmanHost(), DOCKER_CONFIG: join(work, "no-docker-config") };
  });

  it("--builder docker builds and pushes to the loopback registry; the manifest's digest is the registry's", async () => {
    const output = join(work, "pushed.json");
    const registry = `${services().FLOWPACK_TEST_REGISTRY}/podman`;
    const packaged = await flowpack(
      ["package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "docker", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE, "--registry", registry, "--output", output],
      { env, timeoutMs: 300_000 },
    );
    expect(packaged.stderr).not.toContain("unexpected");
    expect(packaged.code).toBe(0);
    const manifest = JSON.parse(readFileSync(output, "utf8")) as { image: string; metadata: { builder: string } };
    expect(manifest.metadata.builder).toBe("docker");
    expect(manifest.image).toMatch(new RegExp(`^${registry.replace(/\./g, "\\.")}/hello:fp-[a-f0-9]+@sha256:[a-f0-9]{64}$`));
    expect((await skopeoInspect(manifest.image)).Digest).toBe(manifest.image.split("@")[1]);
    expect(await validatePushed(manifest.image)).toEqual([]);

    // run --on docker pulls it back into Podman (by digest) and runs it; the container is removed
    await dockerOnPodman(["rmi", "-f", manifest.image.split("@")[0]!]);
    const run = await flowpack(["run", output, "--on", "docker", "--param", "name=Podman", "--network", "none"], { env, timeoutMs: 300_000 });
    expect(run.stderr).not.toContain("unexpected");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, Podman!" });
    expect(await flowContainers()).toBe("");
  }, 600_000);

  it("--builder docker without a registry leaves the image in Podman, and run --on docker runs it there", async () => {
    const output = join(work, "local.json");
    const packaged = await flowpack(
      ["package", example("report", "src", "flow.ts"), "--packager", "docker", "--builder", "docker", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE, "--output", output],
      { env, timeoutMs: 300_000 },
    );
    expect(packaged.code).toBe(0);
    const { image } = JSON.parse(readFileSync(output, "utf8")) as { image: string };
    expect(image).toMatch(/^sha256:[a-f0-9]{64}$/);
    try {
      const run = await flowpack(["run", output, "--on", "docker", "--param", "day=2024-03-01", "--param", "limit=2", "--network", "none"], { env, timeoutMs: 300_000 });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ orders: 2, total: "37.50 EUR" });
      expect(await flowContainers()).toBe("");
    } finally {
      await dockerOnPodman(["rmi", "-f", image]);
    }
  }, 600_000);

  it("--builder oci with no registry loads the image into Podman, and run --on docker runs it there", async () => {
    const output = join(work, "loaded.json");
    const packaged = await flowpack(
      ["package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "oci", "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}:20`, "--output", output],
      { env, timeoutMs: 300_000 },
    );
    expect(packaged.code, packaged.stderr).toBe(0);
    expect(packaged.stderr).toContain("into the Docker daemon");
    const { image } = JSON.parse(readFileSync(output, "utf8")) as { image: string };
    try {
      expect((await dockerOnPodman(["image", "inspect", image])).code).toBe(0);
      const run = await flowpack(["run", output, "--on", "docker", "--param", "name=Loaded", "--network", "none"], { env, timeoutMs: 300_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, Loaded!" });
    } finally {
      await dockerOnPodman(["rmi", "-f", image]);
    }
  }, 600_000);

  it("an engine error shows the engine's own text (an image Podman does not have, from nowhere)", async () => {
    const output = join(work, "missing.json");
    const packaged = await flowpack(
      ["package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "docker", "--base-image", "127.0.0.1:9/nowhere/node:20", "--output", output],
      { env, timeoutMs: 300_000 },
    );
    expect(packaged.code).toBe(3);
    expect(packaged.stderr).not.toContain("unexpected -");
    expect(packaged.stderr).toContain("127.0.0.1:9/nowhere/node");
  }, 300_000);
});
