import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { fixture, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { containerRuns } from "../../helpers/container-runs.js";

// The same stories as test/integration/flow-errors.test.ts, with the flow in a container (oci
// builder, pushed to the test registry, run with --network none): told once, by the host.
const runs = containerRuns("errors");
const work = runs.work;
let env: NodeJS.ProcessEnv;

const packageToRegistry = (entry: string, name: string) => runs.packageToRegistry(entry, name, env);
const flowpackContainers = () => runs.containers();

describe("a failed flow's story and SIGTERM, in a container", () => {
  beforeAll(() => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache"), FLOWPACK_STOP_GRACE: "" };
  });

  it("the error's class, cause and user-file stack reach the host, printed once; --json carries them with the run ID", async () => {
    const manifest = await packageToRegistry(fixture("flows", "rows.ts"), "rows");
    const debug = await flowpack(["--debug", "run", manifest, "--network", "none"], { env });
    expect(debug.code).toBe(1);
    expect(debug.stdout).toBe("");
    expect(debug.stderr.match(/flowpack: error:/g)).toHaveLength(1);
    expect(debug.stderr).toMatch(/flowpack: error: flow "rows" failed: ValidationError: bad row 3 \(caused by: SyntaxError: [^\n]+\)\n/);
    // the runner's stack, source-mapped in the image through the .map beside the bundle
    expect(debug.stderr).toMatch(/\nValidationError: bad row 3\n\s+at parseRow \([^)]*lib\/rows\.ts:9:\d+\)/);
    expect(debug.stderr).toMatch(/\ncaused by: SyntaxError: /);
    expect(debug.stderr).not.toContain("runner.mjs");

    const json = await flowpack(["--json", "run", manifest, "--network", "none"], { env });
    expect(json.code).toBe(1);
    expect(json.stderr.match(/flowpack: error:/g)).toHaveLength(1);
    const record = JSON.parse(json.stdout) as { runId: string; status: string; error: { name: string; stack: string; cause: { name: string }[] } };
    expect(record).toMatchObject({ status: "failed", error: { code: "FLOW_FAILED", name: "ValidationError" } });
    expect(record.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.error.stack).toMatch(/lib\/rows\.ts:9:\d+/);
    expect(record.error.cause.map((c) => c.name)).toEqual(["SyntaxError"]);

    const big = await flowpack(["run", manifest, "--network", "none", "-p", "returns=bigint"], { env });
    expect(big.code).toBe(1);
    expect(big.stderr).toContain("result.rows[1].id: BigInt cannot be represented in JSON");
    expect(big.stderr.match(/flowpack: error:/g)).toHaveLength(1);
    expect(await flowpackContainers()).toEqual([]);
  });

  it("SIGTERM: the container is stopped, the flow sees ctx.signal abort and logs it, exit 143, no container left", async () => {
    const manifest = await packageToRegistry(fixture("flows", "stoppable.ts"), "stoppable");
    const child = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), "run", manifest, "--network", "none"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!stderr.includes("waiting for a stop") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(stderr).toContain("waiting for a stop");
      expect((await flowpackContainers()).length).toBe(1);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await closed).toBe(143);
    expect(stderr).toMatch(/ctx\.signal aborted, cleaning up.*SIGTERM/);
    expect(stderr).toContain("flowpack: error: interrupted: the container was stopped and removed");
    expect(await flowpackContainers()).toEqual([]);
  });
});
