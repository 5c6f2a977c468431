#!/usr/bin/env node
// Where the time of a one-shot code-only `flowpack package` (oci builder, push) goes, seen from
// the registry side: spawn → first registry request (start-up, bundling, planning), first request
// → last answer (the push: requests and round trips on the critical path), last answer → exit.
// Through the bench's counting proxy, optionally delaying every request (--registry-delay MS).
//
//   node bench/breakdown.mjs --workload hello --registry-delay 40 --runs 7
//
// Needs a workload copy the bench made ($FLOWPACK_BENCH_WORK/copies/<workload>/flowpack-oci) and
// the services (scripts/services.sh start). Prints one line per run and the medians; edits only
// the copy's VARIANT line, like the bench.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { diffCounters, splitAtRegistry, startCountingProxy } from "./lib/proxy.mjs";
import { setVariant } from "./lib/workloads.mjs";
import { stats } from "./lib/report.mjs";


const { values: args } = parseArgs({
  options: {
    workload: { type: "string", default: "hello" },
    "registry-delay": { type: "string", default: "0" },
    runs: { type: "string", default: "7" },
    flowpack: { type: "string", default: join(process.env.FLOWPACK_BENCH_WORK ?? "/tmp/flowpack-bench", "flowpack", "dist", "cli.mjs") },
  },
});
const WORK = resolve(process.env.FLOWPACK_BENCH_WORK ?? "/tmp/flowpack-bench");
const services = JSON.parse(readFileSync(join(process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services", "services.json"), "utf8"));
const dir = join(WORK, "copies", args.workload, "flowpack-oci");
const cli = resolve(args.flowpack);
if (!existsSync(join(dir, "flow.mjs"))) throw new Error(`${dir} is missing: run the bench for ${args.workload} first`);
const delayMs = Number(args["registry-delay"]);
const proxy = await startCountingProxy(services.FLOWPACK_TEST_REGISTRY, { delayMs });
const host = await proxy.listen();
const [baseRepository, baseTag] = services.FLOWPACK_TEST_BASE_IMAGE.slice(services.FLOWPACK_TEST_REGISTRY.length + 1).split(":");
const env = { ...process.env, FLOWPACK_CACHE_DIR: join(WORK, "cache"), DOCKER_CONFIG: join(WORK, "docker-config"), NO_COLOR: "1" };
delete env.DOCKER_HOST;
mkdirSync(env.DOCKER_CONFIG, { recursive: true });
const namespace = `bench/breakdown-${Date.now()}`;

const once = (variant) =>
  new Promise((done, fail) => {
    setVariant(dir, variant);
    const before = proxy.counters(host);
    const start = performance.now();
    const child = spawn(process.execPath, [cli, "package", "flow.mjs", "--packager", "docker", "--builder", "oci", "--base-image", `${host}/${baseRepository}:${baseTag}`, "--registry", `http://${host}/${namespace}`, "--tag", variant, "-o", join(WORK, "breakdown-manifest.json"), "-q"], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const end = performance.now();
      if (code !== 0) return fail(new Error(`flowpack exited ${code}: ${stderr}`));
      const events = proxy.events(host, before);
      const traffic = diffCounters(proxy.counters(host), before);
      done({ totalMs: end - start, ...splitAtRegistry(events, start, end), requests: traffic.requests, roundTrips: proxy.criticalPath(host, before), what: events.map((e) => e.what) });
    });
  });

await once(`cold-${Date.now()}`); // the repository's first push (and warms the caches)
const rows = [];
for (let i = 0; i < Number(args.runs); i++) {
  const row = await once(`edit-${Date.now()}-${i}`);
  rows.push(row);
  console.log(`code-only ${i + 1}: total ${row.totalMs.toFixed(0)} ms = before the first registry request ${row.beforeFirstMs.toFixed(0)} ms + registry ${row.registryMs.toFixed(0)} ms (${row.requests} requests, ${row.roundTrips} in a row) + after the last answer ${row.afterLastMs.toFixed(0)} ms`);
}
const med = (key) => stats(rows.map((r) => r[key])).median;
console.log(`median (${rows.length} runs, ${args.workload}, delay ${delayMs} ms): total ${med("totalMs").toFixed(0)} ms = ${med("beforeFirstMs").toFixed(0)} before + ${med("registryMs").toFixed(0)} registry + ${med("afterLastMs").toFixed(0)} after; ${med("requests")} requests, ${med("roundTrips")} round trips; requests: ${rows.at(-1).what.join(", ")}`);
await proxy.close();

