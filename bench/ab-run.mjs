#!/usr/bin/env node
// A/B of `flowpack run --on docker` start-up between flowpack builds: spawn → the first request
// the CLI sends to the Docker daemon. The daemon is a stand-in on a socket of its own that answers
// every request 500, so each run ends there (exit 3) and the container's own start, which varies by
// more than a start-up change, is left out. Builds alternate (A B, then B A, …); each has a cache
// folder of its own (its validator and code caches warmed by two uncounted runs).
//
//   node bench/ab-run.mjs --runs 60 before=/tmp/fp-before/dist/cli.mjs after=dist/cli.mjs
//
// Needs nothing else: no services, no image.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { stats } from "./lib/report.mjs";

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "40" } } });
const builds = positionals.map((spec) => {
  const at = spec.indexOf("=");
  if (at < 1) throw new Error(`expected label=path/to/cli.mjs, got ${spec}`);
  return { label: spec.slice(0, at), cli: resolve(spec.slice(at + 1)) };
});
if (builds.length < 1) throw new Error("usage: node bench/ab-run.mjs [--runs N] label=cli.mjs …");

const work = mkdtempSync(join(tmpdir(), "flowpack-ab-run-"));
const socket = join(work, "daemon.sock");
const manifest = join(work, "manifest.json");
writeFileSync(
  manifest,
  JSON.stringify({
    type: "docker",
    manifestVersion: 1,
    flowName: "hello",
    flowParameterSchema: { type: "object", properties: { name: { type: "string", minLength: 1, default: "world" } } },
    image: `127.0.0.1:9/ab/hello@sha256:${"1".repeat(64)}`,
    imageFlowLocation: "/opt/flowpack/flow.mjs",
  }),
);

let started = 0;
let firstAt;
const daemon = createServer((request, response) => {
  firstAt ??= performance.now() - started;
  response.writeHead(500, { "content-type": "application/json" });
  response.end('{"message":"a stand-in daemon"}');
});
await new Promise((done) => daemon.listen(socket, done));

const once = (build) =>
  new Promise((done, fail) => {
    firstAt = undefined;
    started = performance.now();
    const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, FLOWPACK_CACHE_DIR: join(work, `cache-${build.label}`) };
    const child = spawn(process.execPath, [build.cli, "run", manifest, "-p", "name=ab", "--network", "none"], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => {
      if (code !== 3 || firstAt === undefined) return fail(new Error(`${build.label}: expected exit 3 after one daemon request, got ${code}: ${stderr}`));
      done({ first: firstAt, total: performance.now() - started });
    });
  });

try {
  for (const build of builds) for (let i = 0; i < 2; i++) await once(build);
  const rows = Object.fromEntries(builds.map((build) => [build.label, []]));
  for (let round = 0; round < Number(args.runs); round++) {
    for (const build of round % 2 ? [...builds].reverse() : builds) rows[build.label].push(await once(build));
  }
  for (const build of builds) {
    const first = stats(rows[build.label].map((row) => row.first));
    const total = stats(rows[build.label].map((row) => row.total));
    console.log(`${build.label.padEnd(10)} spawn → first daemon request: median ${first.median.toFixed(1)} ms; to exit ${total.median.toFixed(1)} ms (${args.runs} runs)`);
  }
} finally {
  daemon.close();
  rmSync(work, { recursive: true, force: true });
}
