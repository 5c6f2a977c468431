import { spawn } from "node:child_process";
import { connect, createServer as createNetServer, type AddressInfo } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { docker } from "../../helpers/docker.js";
import { fixture, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { containerRuns } from "../../helpers/container-runs.js";

const runs = containerRuns("each");
const work = runs.work;
let env: NodeJS.ProcessEnv;
let manifest: string;
let image: string;

function paramsFile(name: string, sets: object[]): string {
  const file = join(work, name);
  writeFileSync(file, sets.map((s) => JSON.stringify(s)).join("\n") + "\n");
  return file;
}

describe("flowpack run --each --on docker", () => {
  beforeAll(async () => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache"), FLOWPACK_STOP_GRACE: "1" };
    manifest = await runs.packageToRegistry(fixture("flows", "square.ts"), "square", env);
    image = (JSON.parse(readFileSync(manifest, "utf8")) as { image: string }).image;
  });

  it("pulls the image once for the batch, prints results in input order, reports a failing set without stopping the others, and leaves no container", async () => {
    // The oci builder pushed it to the registry only: this daemon has never seen it.
    expect((await docker(["image", "inspect", image])).code).not.toBe(0);
    const since = Math.floor(Date.now() / 1000) - 1;
    const sets = [1, 2, 3, 4, 5, 6].map((n) => (n === 3 ? { n, fail: true } : { n }));
    const r = await flowpack(["run", manifest, "--on", "docker", "--network", "none", "--each", paramsFile("six.jsonl", sets), "--concurrency", "3"], { env });
    expect(r.code).toBe(1);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { index: number; line: number; ok: boolean; result?: unknown; error?: { code: string; message: string }; node: string });
    expect(out.map((l) => [l.index, l.line, l.ok])).toEqual([[0, 1, true], [1, 2, true], [2, 3, false], [3, 4, true], [4, 5, true], [5, 6, true]]);
    expect(out[5]!.result).toEqual({ n: 6, square: 36 });
    expect(out[2]!.error).toEqual({ code: "FLOW_FAILED", message: 'flow "square" failed: refusing to square 3' });
    const daemonName = (await docker(["info", "--format", "{{.Name}}"])).stdout.trim();
    expect(new Set(out.map((l) => l.node))).toEqual(new Set([daemonName]));
    expect(r.stderr).toContain('[#4] ');
    expect(r.stderr).toMatch(/\[#4\] .*squaring \{"n":5\}/);
    expect(r.stderr).toContain("flowpack: error: 1 of 6 runs did not succeed (line 3)");
    expect(await runs.containers()).toEqual([]);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const pulls = await docker(["events", "--since", String(since), "--until", String(until), "--filter", "type=image", "--filter", "event=pull", "--format", "{{.ID}}"]);
    expect(pulls.stdout.trim().split("\n").filter((l) => l.includes(runs.repository))).toHaveLength(1);
  });

  it("--timeout is each run's own: the line past it fails alone (RUN_TIMEOUT, its container removed), the batch goes on to the next line", async () => {
    // One at a time: had the timed-out run stopped the batch (as a broken engine does), line 3 would be "not run".
    const file = paramsFile("timeout.jsonl", [{ n: 1 }, { n: 2, seconds: 120 }, { n: 3 }]);
    const r = await flowpack(["run", manifest, "--network", "none", "--each", file, "--concurrency", "1", "--timeout", "10s"], { env });
    expect(r.code).toBe(3);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { index: number; ok: boolean; result?: unknown; error?: { code: string; message: string } });
    expect(out.map((l) => [l.index, l.ok, l.error?.code])).toEqual([[0, true, undefined], [1, false, "RUN_TIMEOUT"], [2, true, undefined]]);
    expect(out[1]!.error!.message).toBe("timed out after 10s; the run was stopped and what it started removed");
    expect(out[2]!.result).toEqual({ n: 3, square: 9 });
    expect(r.stderr).toContain("flowpack: error: 1 of 3 runs did not succeed (line 2)");
    expect(await runs.containers()).toEqual([]);
  });

  it("Ctrl-C stops every running container, starts no more, reports each line, exits 130 and leaves nothing", async () => {
    const file = paramsFile("slow.jsonl", [1, 2, 3, 4].map((n) => ({ n, seconds: 60 })));
    const child = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), "run", manifest, "--network", "none", "--each", file, "--concurrency", "2"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // wait until both flows are running inside their containers (bounded)
    const deadline = Date.now() + 60_000;
    while (!(stderr.includes("[#0]") && stderr.includes("[#1]")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((await runs.containers()).length).toBe(2);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    const out = stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { index: number; ok: boolean; error: { code: string } });
    expect(out.map((l) => [l.index, l.ok, l.error.code])).toEqual([[0, false, "INTERRUPTED"], [1, false, "INTERRUPTED"], [2, false, "NOT_RUN"], [3, false, "NOT_RUN"]]);
    expect(stderr).toContain("flowpack: error: interrupted: 4 of 4 runs did not succeed (line 1, line 2), 2 not run");
    expect(await runs.containers()).toEqual([]);
  });

  it("an infrastructure failure mid-batch (the daemon refuses to create containers) starts no new run: exit 3, the rest reported as not run", async () => {
    // Fault injection: a TCP proxy in front of the real daemon's socket (so attach streams pass
    // through untouched) that answers 500 to every container create after the second one.
    const socketPath = services().DOCKER_HOST.replace(/^unix:\/\//, "");
    let creates = 0;
    const proxy = createNetServer((client) => {
      const upstream = connect(socketPath);
      client.on("data", (chunk: Buffer) => {
        const head = chunk.subarray(0, 200).toString("latin1");
        if (/^POST \S*\/containers\/create/.test(head) && ++creates > 2) {
          const body = JSON.stringify({ message: "injected: the daemon is going away" });
          client.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const host = `tcp://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const file = paramsFile("five.jsonl", [1, 2, 3, 4, 5].map((n) => ({ n })));
      const r = await flowpack(["run", manifest, "--network", "none", "--each", file, "--concurrency", "1"], { env: { ...env, DOCKER_HOST: host } });
      expect(r.code).toBe(3);
      const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { index: number; ok: boolean; error?: { code: string; message: string } });
      expect(out.map((l) => [l.index, l.ok, l.error?.code])).toEqual([[0, true, undefined], [1, true, undefined], [2, false, "CONTAINER_FAILED"], [3, false, "NOT_RUN"], [4, false, "NOT_RUN"]]);
      expect(out[2]!.error!.message).toContain("injected: the daemon is going away");
      expect(out[3]!.error!.message).toMatch(/^not run: an earlier run failed: /);
      expect(creates).toBe(3);
      expect(r.stderr).toContain("flowpack: error: 3 of 5 runs did not succeed (line 3), 2 not run");
      expect(await runs.containers()).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
