import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { docker } from "../../helpers/docker.js";
import { example } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { dockerfileProject } from "../../helpers/dockerfile-project.js";

/** `package --dockerfile`: the build context is sent the way `docker build` sends it. */
const work = mkdtempSync(join(tmpdir(), "flowpack-context-"));
let env: NodeJS.ProcessEnv;

/** A Dockerfile context holding a bundle of the hello example, as the README shows it. */
async function context(name: string): Promise<string> {
  return dockerfileProject(join(work, name, "app"));
}

describe("package --dockerfile: the build context", () => {
  beforeAll(() => {
    env = { DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-docker-config") };
  });

  it("sends symlinks that point out of the folder as links (pnpm's node_modules/.bin, a linked workspace package), as docker build does", async () => {
    const dir = await context("links");
    mkdirSync(join(dir, "..", "shared"), { recursive: true });
    writeFileSync(join(dir, "..", "shared", "tool.js"), "console.log('tool')\n");
    mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
    symlinkSync("../../../shared/tool.js", join(dir, "node_modules", ".bin", "tool"));
    symlinkSync("../../shared", join(dir, "node_modules", "shared"));
    symlinkSync("/etc/hostname", join(dir, "host-file"));
    symlinkSync("build/flow.mjs", join(dir, "inside"));
    const output = join(work, "links.json");
    const packaged = await flowpack(["package", example("hello", "flow.ts"), "--packager", "docker", "--dockerfile", join(dir, "Dockerfile"), "--output", output], {
      env,
      timeoutMs: 300_000,
    });
    expect(packaged.code, packaged.stderr).toBe(0);
    const { image } = JSON.parse(readFileSync(output, "utf8")) as { image: string };
    try {
      const links = await docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", "for l in node_modules/.bin/tool node_modules/shared host-file inside; do readlink /ctx/$l; done"]);
      expect(links.stdout.trim().split("\n")).toEqual(["../../../shared/tool.js", "../../shared", "/etc/hostname", "build/flow.mjs"]);
      const run = await docker(["run", "--rm", "--network", "none", image, "-p", "name=Links"]);
      expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, Links!" });
    } finally {
      await docker(["rmi", "-f", image]);
    }
  }, 600_000);

  it("a FIFO in the context is refused, naming it, with a hint that exists: .dockerignore", async () => {
    const dir = join(work, "fifo", "app");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "Dockerfile"), "FROM node:20-bookworm-slim\n");
    execFileSync("mkfifo", [join(dir, "pipe")]);
    const failed = await flowpack(["package", example("hello", "flow.ts"), "--packager", "docker", "--dockerfile", join(dir, "Dockerfile")], { env, timeoutMs: 120_000 });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(join(dir, "pipe"));
    expect(failed.stderr).toContain(`${join(dir, ".dockerignore")}`);
    expect(failed.stderr).not.toContain("filter option");
    expect(failed.stderr).not.toMatch(/^\s+at /m);
  }, 300_000);
});
