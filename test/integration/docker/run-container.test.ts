import { join } from "node:path";
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { fixture, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { containerRuns } from "../../helpers/container-runs.js";

const runs = containerRuns("runs");
const work = runs.work;
let env: NodeJS.ProcessEnv;

const packageToRegistry = (entry: string, name: string) => runs.packageToRegistry(entry, name, env);
const flowpackContainers = () => runs.containers();

describe("flowpack run --on docker", () => {
  beforeAll(() => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
  });

  it("a failing flow: exit 1 with the flow's message, its logs on stderr, no container left", async () => {
    const manifest = await packageToRegistry(fixture("flows", "failing.ts"), "failing");
    const r = await flowpack(["run", manifest, "--network", "none", "-p", "reason=quota"], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('flowpack: error: flow "failing" failed: upstream said quota');
    expect(await flowpackContainers()).toEqual([]);
  });

  it("Ctrl-C stops and removes the container and exits 130", async () => {
    const manifest = await packageToRegistry(fixture("flows", "slow.ts"), "slow");
    const child = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), "run", manifest, "--network", "none"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // wait until the flow is running inside its container
    const deadline = Date.now() + 60_000;
    while (!stderr.includes("INFO  slow: sleeping") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(stderr).toContain("INFO  slow: sleeping");
    expect((await flowpackContainers()).length).toBe(1);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    expect(stderr).toContain("interrupted: the container was stopped and removed");
    expect(await flowpackContainers()).toEqual([]);
  });
});
