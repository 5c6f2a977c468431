import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { containerRuns } from "../../helpers/container-runs.js";
import { docker } from "../../helpers/docker.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

/** `flowpack run --each --on swarm` on the real two-node swarm: one service per run, spread over the nodes. */

const runs = containerRuns("swarm-each");
const work = runs.work;
let env: NodeJS.ProcessEnv;
let manifest: string;

function paramsFile(name: string, lines: string[]): string {
  const file = join(work, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const onWorker = (args: string[]) => docker(args, { env: { DOCKER_HOST: services().FLOWPACK_TEST_SWARM_WORKER_HOST } });

async function leftovers(): Promise<string[]> {
  const ours = (text: string) => text.split("\n").filter((line) => line.includes(`/${runs.repository}/`));
  const services_ = ours((await docker(["service", "ls", "--filter", "label=dev.flowpack.run=1", "--format", "{{.Name}} {{.Image}}"])).stdout);
  const ps = ["ps", "-a", "--filter", "label=dev.flowpack.run=1", "--format", "{{.ID}} {{.Image}}"];
  return [...services_, ...ours((await docker(ps)).stdout), ...ours((await onWorker(ps)).stdout)];
}

describe("flowpack run --each --on swarm (a real two-node swarm)", () => {
  beforeAll(async () => {
    mkdirSync(join(work, "no-config"), { recursive: true });
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache"), FLOWPACK_STOP_GRACE: "1" };
    manifest = await runs.packageToRegistry(fixture("flows", "greet.ts"), "greet", env);
  });

  it("12 parameter sets, --concurrency 4: 12 results in input order, tasks on both nodes, a failing set reported without stopping the others", async () => {
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify(i === 7 ? { name: `n${i}`, fail: true } : { name: `n${i}`, seconds: 1 }));
    const r = await flowpack(["run", manifest, "--on", "swarm", "--each", paramsFile("twelve.jsonl", lines), "--concurrency", "4"], { env, timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(1);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { index: number; line: number; ok: boolean; result?: { greeting: string }; error?: { code: string; message: string }; node: string });
    expect(out.map((l) => [l.index, l.line, l.ok])).toEqual(Array.from({ length: 12 }, (_, i) => [i, i + 1, i !== 7]));
    out.filter((l) => l.ok).forEach((l) => expect(l.result).toEqual({ greeting: `hello n${l.index}`, mood: null }));
    expect(out[7]!.error).toEqual({ code: "FLOW_FAILED", message: 'flow "greet" failed: cannot greet n7' });
    expect(out[7]!.node).toMatch(/^node \S+ \((worker|manager)\) /);
    const nodes = new Set(out.map((l) => l.node));
    expect([...nodes].some((n) => n.includes("(worker)"))).toBe(true);
    expect([...nodes].some((n) => n.includes("(manager)"))).toBe(true);
    expect(r.stderr).toMatch(/\[#3\] .*greeting \{"name":"n3"\}/);
    expect(r.stderr).toContain("flowpack: error: 1 of 12 runs did not succeed (line 8)");
    let left: string[] = [];
    for (let i = 0; i < 60 && (left = await leftovers()).length > 0; i++) await sleep(250);
    expect(left).toEqual([]);
  });

  it("a file with two bad lines is refused, every bad line named, before any service is created: exit 2", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const lines = [JSON.stringify({ name: "a" }), JSON.stringify({ name: 5 }), JSON.stringify({ name: "c" }), JSON.stringify({ nom: "d" })];
    const r = await flowpack(["run", manifest, "--on", "swarm", "--each", paramsFile("bad.jsonl", lines), "--concurrency", "4"], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("line 2");
    expect(r.stderr).toContain("line 4");
    const events = await docker(["events", "--since", since, "--until", String(Math.floor(Date.now() / 1000) + 1), "--filter", "type=service", "--filter", "event=create", "--format", "{{.Actor.Attributes.name}}"]);
    expect(events.code).toBe(0);
    expect(events.stdout.split("\n").filter((name) => name.startsWith("flowpack-greet-"))).toEqual([]);
  });
});
