import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { containerRuns } from "../../helpers/container-runs.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

const runs = containerRuns("timeout");
let env: NodeJS.ProcessEnv;

describe("flowpack run --timeout", () => {
  beforeAll(() => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(runs.work, "no-config"), FLOWPACK_CACHE_DIR: join(runs.work, "cache"), FLOWPACK_STOP_GRACE: "1" };
  });

  it("--on docker: the container is stopped and removed, exit 3 saying so", async () => {
    const manifest = await runs.packageToRegistry(fixture("flows", "slow.ts"), "slow", env);
    const r = await flowpack(["run", manifest, "--on", "docker", "--network", "none", "--timeout", "2s", "-p", "seconds=120"], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("flowpack: error: timed out after 2s; the run was stopped and what it started removed");
    expect(await runs.containers()).toEqual([]);
  });

  it("--on local: the flow's ctx.signal aborts, exit 3", async () => {
    const manifest = join(runs.work, "stoppable.json");
    const packaged = await flowpack(["package", fixture("flows", "slow.ts"), "--store", join(runs.work, "store"), "--output", manifest], { env });
    expect(packaged.code, packaged.stderr).toBe(0);
    const r = await flowpack(["run", manifest, "--timeout", "1s", "-p", "seconds=120"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("flowpack: error: timed out after 1s");
  });

  it("a timeout that is not a duration: exit 2 before anything starts", async () => {
    const r = await flowpack(["run", join(runs.work, "none.json"), "--timeout", "soon"], { env });
    expect(r.code).toBe(2);
  });
});
