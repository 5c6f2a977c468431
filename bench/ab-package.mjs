#!/usr/bin/env node
// A/B of one-shot code-only `flowpack package` (oci builder, push) between flowpack builds, in the
// same rounds: each round runs every build once (A B, then B A, …) after a one-line change, so a
// machine whose speed drifts (this one does, by ±20 % over minutes) weighs on each build alike.
// A start-up change of 20–50 ms is only visible this way.
//
//   node bench/ab-package.mjs --workload service --runs 15 before=/tmp/fp-before/dist/cli.mjs after=dist/cli.mjs
//
// Needs a workload copy the bench made ($FLOWPACK_BENCH_WORK/copies/<workload>/flowpack-oci) and
// the services (scripts/services.sh start). Each build gets a cache folder of its own (neither
// benefits from what the other cached) and a repository of its own; two uncounted runs each first.
// Prints the medians.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { startCountingProxy } from "./lib/proxy.mjs";
import { setVariant } from "./lib/workloads.mjs";
import { stats } from "./lib/report.mjs";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: "string", default: "hello" },
    runs: { type: "string", default: "11" },
    "registry-delay": { type: "string", default: "0" },
  },
});
const builds = positionals.map((spec) => {
  const [label, cli] = spec.split("=");
  if (!label || !cli || !existsSync(cli)) throw new Error(`"${spec}": give LABEL=PATH/dist/cli.mjs of a built flowpack`);
  return { label, cli: resolve(cli), times: [] };
});
if (builds.length < 2) throw new Error("give two builds or more: LABEL=PATH/dist/cli.mjs …");
const WORK = resolve(process.env.FLOWPACK_BENCH_WORK ?? "/tmp/flowpack-bench");
const services = JSON.parse(readFileSync(join(process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services", "services.json"), "utf8"));
const dir = join(WORK, "copies", args.workload, "flowpack-oci");
if (!existsSync(join(dir, "flow.mjs"))) throw new Error(`${dir} is missing: run the bench for ${args.workload} first`);
const proxy = await startCountingProxy(services.FLOWPACK_TEST_REGISTRY, { delayMs: Number(args["registry-delay"]) });
const host = await proxy.listen();
const [baseRepository, baseTag] = services.FLOWPACK_TEST_BASE_IMAGE.slice(services.FLOWPACK_TEST_REGISTRY.length + 1).split(":");
const namespace = `bench/ab-${Date.now()}`;

const once = (build, variant) =>
  new Promise((done, fail) => {
    setVariant(dir, variant);
    const env = { ...process.env, FLOWPACK_CACHE_DIR: join(WORK, `ab-cache-${build.label}`), DOCKER_CONFIG: join(WORK, "docker-config"), NO_COLOR: "1" };
    delete env.DOCKER_HOST;
    mkdirSync(env.DOCKER_CONFIG, { recursive: true });
    const args = ["package", "flow.mjs", "--packager", "docker", "--builder", "oci", "--base-image", `${host}/${baseRepository}:${baseTag}`, "--registry", `http://${host}/${namespace}-${build.label}`, "--tag", variant, "-o", join(WORK, `ab-${build.label}.json`), "-q"];
    const start = performance.now();
    const child = spawn(process.execPath, [build.cli, ...args], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => (code === 0 ? done(performance.now() - start) : fail(new Error(`${build.label} exited ${code}: ${stderr}`))));
  });

try {
  for (const build of builds) for (const run of ["cold", "warm"]) await once(build, `${run}-${Date.now()}`);
  for (let i = 0; i < Number(args.runs); i++) {
    for (const build of i % 2 ? [...builds].reverse() : builds) build.times.push(await once(build, `edit-${Date.now()}-${i}`));
  }
  for (const build of builds) console.log(`${build.label}: median ${stats(build.times).median.toFixed(0)} ms (${args.workload}, ${build.times.length} runs: ${build.times.map((t) => t.toFixed(0)).join(" ")})`);
} finally {
  await proxy.close();
}
