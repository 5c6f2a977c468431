import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { alive } from "../helpers/processes.js";

// scripts/services.sh after an unclean end: a session or machine that stopped without `stop` leaves
// its state folder behind, the daemons' pidfiles with it, and by the next start the numbers in them
// can belong to anything. dockerd refuses to start while its pidfile names a live process: a CI run
// failed so, its own test runner holding the old dockerd's pid. This runs a second, small set of
// the services (no base image, Podman or swarm) in its own folder and ports.
const script = fileURLToPath(new URL("../../scripts/services.sh", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "fp-svc-"));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

function services(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile("bash", [script, command], { env, timeout: 180_000 }, (error, _stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr });
    });
  });
}

let env: NodeJS.ProcessEnv | undefined;

afterAll(async () => {
  if (env) await services("clean", env);
});

describe("scripts/services.sh", () => {
  it("starts again after its daemons were killed and a dockerd pidfile names another live process", async () => {
    env = {
      ...process.env,
      FLOWPACK_SERVICES_DIR: dir,
      FLOWPACK_REGISTRY_PORT: String(await freePort()),
      FLOWPACK_AUTH_REGISTRY_PORT: String(await freePort()),
      FLOWPACK_SKIP_BASE_IMAGE: "1",
      FLOWPACK_SKIP_PODMAN: "1",
      FLOWPACK_SKIP_SWARM: "1",
    };
    const first = await services("start", env);
    expect(first.code, first.stderr).toBe(0);

    // The unclean end: every daemon killed at once, nothing cleaned up.
    const run = join(dir, "run");
    const pids = readdirSync(run)
      .filter((f) => f.endsWith(".pid"))
      .map((f) => Number(readFileSync(join(run, f), "utf8")));
    expect(pids.length).toBeGreaterThanOrEqual(3); // containerd, dockerd, the registries
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const pidfile = join(dir, "docker", "dockerd.pid");
    expect(readFileSync(pidfile, "utf8").trim()).toMatch(/^\d+$/); // left behind by the killed dockerd
    // By the next start the number is some other live process's: this one's, here.
    writeFileSync(pidfile, String(process.pid));

    const again = await services("start", env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`removing stale pidfile ${pidfile}`);
    const status = await services("status", env);
    expect(status.code, status.stderr).toBe(0);
  }, 240_000);

  it("stops a dockerd of its own that runs without its record (the run folder lost) before starting one", async () => {
    expect(env, "the test above starts the services").toBeDefined();
    const record = join(dir, "run", "dockerd.pid");
    const running = Number(readFileSync(record, "utf8"));
    expect(alive(running)).toBe(true);
    rmSync(record);

    const again = await services("start", env!);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`a dockerd with pidfile ${join(dir, "docker", "dockerd.pid")} still runs (pid ${running}) without our record of it; stopping it`);
    expect(alive(running)).toBe(false);
    expect(Number(readFileSync(record, "utf8"))).not.toBe(running);
    expect((await services("status", env!)).code).toBe(0);
  }, 240_000);
});
