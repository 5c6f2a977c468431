import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../../helpers/cli.js";
import { containerRuns } from "../../helpers/container-runs.js";
import { docker } from "../../helpers/docker.js";
import { startEngineProxy, type EngineProxy } from "../../helpers/engine-proxy.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

/**
 * What `flowpack run --on docker` asks the daemon, counted by a proxy on the daemon's socket: every
 * request is a round trip on the way to the result, so the list is pinned here and a new one (a ping,
 * an inspect before create, a DELETE after an AutoRemove) shows up as a failure, not as a slower run.
 */
const runs = containerRuns("trips");
let env: NodeJS.ProcessEnv;
let proxy: EngineProxy;

const requestsOf = () => proxy.requests.map(({ method, path, status }) => `${method} ${path} ${status ?? "-"}`);
const runThroughProxy = (manifest: string, args: string[] = []) =>
  flowpack(["run", manifest, "--network", "none", ...args], { env: { ...env, DOCKER_HOST: proxy.host } });

describe("flowpack run --on docker: daemon round trips", () => {
  beforeAll(async () => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(runs.work, "no-config"), FLOWPACK_CACHE_DIR: join(runs.work, "cache") };
    proxy = await startEngineProxy(services().DOCKER_HOST);
  });
  afterAll(() => proxy?.close());

  it("an image the daemon has: create, attach and wait (sent together), start — 4 requests, no ping, no inspect, no DELETE", async () => {
    const manifest = await runs.packageToRegistry(fixture("flows", "with-helper.ts"), "doubler", env);
    const image = (JSON.parse(readFileSync(manifest, "utf8")) as { image: string }).image;
    expect((await docker(["pull", image])).code).toBe(0);
    proxy.requests.length = 0;
    const r = await runThroughProxy(manifest, ["-p", "n=21"]);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ value: 42, tags: [] });
    expect(requestsOf().slice(0, 1)).toEqual(["POST /containers/create 201"]);
    expect(requestsOf().slice(1, 3).sort()).toEqual(["POST /containers/{id}/attach 200", "POST /containers/{id}/wait 200"]);
    expect(requestsOf().slice(3)).toEqual(["POST /containers/{id}/start 204"]);
    // The daemon removed it (AutoRemove), and the wait said so before flowpack returned.
    expect(await runs.containers()).toEqual([]);
  });

  it("an image the daemon lacks: the create's 404 starts the pull, then create again — 6 requests", async () => {
    const manifest = await runs.packageToRegistry(fixture("flows", "failing.ts"), "failing", env);
    const image = (JSON.parse(readFileSync(manifest, "utf8")) as { image: string }).image;
    await docker(["rmi", "-f", image]);
    proxy.requests.length = 0;
    // A failing flow: exit 1 with its message, and the same requests as a success.
    const r = await runThroughProxy(manifest, ["-p", "reason=quota"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('flow "failing" failed: upstream said quota');
    const trips = requestsOf();
    expect(trips.slice(0, 3)).toEqual(["POST /containers/create 404", "POST /images/create 200", "POST /containers/create 201"]);
    expect(trips.slice(3, 5).sort()).toEqual(["POST /containers/{id}/attach 200", "POST /containers/{id}/wait 200"]);
    expect(trips.slice(5)).toEqual(["POST /containers/{id}/start 204"]);
    expect(await runs.containers()).toEqual([]);
  });

  it("a daemon that is not there: one line naming it, exit 3, no request sent anywhere else", async () => {
    const manifest = await runs.packageToRegistry(fixture("flows", "failing.ts"), "failing", env);
    const r = await flowpack(["run", manifest], { env: { ...env, DOCKER_HOST: `unix://${join(runs.work, "no-daemon.sock")}` } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the Docker daemon at unix://${join(runs.work, "no-daemon.sock")}: no socket there`);
  });
});
