#!/usr/bin/env node
// Per-run latency of one hello-flow run `--on swarm` against `--on docker`, measured side by side in
// one process: alternating runs (docker, swarm, docker, …) after one uncounted warm-up of each (the
// first pulls the image), medians and the ratio. Not a test: numbers depend on the machine's load.
//
//   FLOWPACK_SERVICES_DIR=… node bench/swarm-latency.mjs [--runs 5]
//
// Needs the services (bash scripts/services.sh start: a two-node swarm, the plain registry).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { run, shellQuote } from "./lib/proc.mjs";
import { fmtMs, stats } from "./lib/report.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(args.runs);
const servicesDir = process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services";
const services = JSON.parse(readFileSync(join(servicesDir, "services.json"), "utf8"));
const work = mkdtempSync(join(tmpdir(), "flowpack-swarm-latency-"));
const cli = join(ROOT, "dist/cli.mjs");
const env = { ...process.env, DOCKER_HOST: services.DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };

const manifest = join(work, "greet.json");
await run([process.execPath, cli, "package", join(ROOT, "test/fixtures/flows/greet.ts"), "--packager", "docker", "--builder", "oci",
  "--base-image", services.FLOWPACK_TEST_BASE_IMAGE, "--registry", `${services.FLOWPACK_TEST_REGISTRY}/swarm-latency`, "--output", manifest], { env });

const commands = {
  docker: [process.execPath, cli, "run", manifest, "--on", "docker", "--network", "none", "-p", "name=bench"],
  swarm: [process.execPath, cli, "run", manifest, "--on", "swarm", "-p", "name=bench"],
};
const times = { docker: [], swarm: [] };
for (const target of ["docker", "swarm"]) await run(commands[target], { env }); // warm-up: pulls on the node(s)
for (let i = 0; i < runs; i++) {
  for (const target of i % 2 ? ["swarm", "docker"] : ["docker", "swarm"]) {
    const r = await run(commands[target], { env });
    times[target].push(r.ms);
  }
}
const docker = stats(times.docker);
const swarm = stats(times.swarm);
const result = { runs, docker: times.docker, swarm: times.swarm, medianDockerMs: docker.median, medianSwarmMs: swarm.median, ratio: swarm.median / docker.median, commands: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, shellQuote(v.slice(1))])) };
writeFileSync(join(work, "result.json"), JSON.stringify(result, null, 2));
for (const target of ["docker", "swarm"]) {
  const s = stats(times[target]);
  console.log(`--on ${target}: median ${fmtMs(s.median)} (min ${fmtMs(s.min)}, max ${fmtMs(s.max)}, n=${s.n})`);
}
console.log(`swarm / docker: ${result.ratio.toFixed(2)}×  (raw: ${join(work, "result.json")})`);
