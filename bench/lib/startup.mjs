// Start-up: what flowpack itself adds to running a packaged flow (issue 13), side by side with the
// yardstick beside each command, measured in one process, alternating, medians (and p95):
//   flowpack run m.json --on docker   vs  docker run --rm IMAGE --param …   (same image, same result)
//   flowpack run (file manifest)       vs  node running the same bundle directly
//   flowpack run (OCI layout)          vs  node running the same bundle directly
//   flowpack --version                 vs  node -e 0
// and, for each flowpack command, where its time goes: one run under `node --cpu-prof` (main-thread
// time by kind: module loading, flowpack's code, dependencies, the flow, GC, waiting) and one through
// a counting proxy on the daemon's socket (each Engine API request of `run --on docker`).
//
// Used by bench/run.mjs (skip with --no-startup; --startup-runs N), or alone:
//   node bench/lib/startup.mjs [--runs N] [--out NAME] [--baseline DIR [--baseline-label T]]
//   (services from $FLOWPACK_SERVICES_DIR; --baseline: another flowpack build's package root, measured
//   in the same rounds, e.g. the main branch: before and after)
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run, shellQuote } from "./proc.mjs";
import { fmtMs, resultsBase } from "./report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");
const FLOW = join(REPO, "examples", "hello", "flow.ts"); // one file, zod; the flow every README example runs
const PARAM = "name=bench";
const EXPECTED = { greeting: "Hello, bench!" };

/** The issue's start-up targets, in ms. */
export const STARTUP_TARGETS = {
  dockerOverheadMs: 150, // run --on docker adds ≤ 0.15 s to docker run of the same image (median)
  versionFactor: 2, // flowpack --version ≤ 2× node -e 0
  fileOverheadMs: 150, // a file-manifest run ≤ 0.15 s over node running the bundle
};

/** Median, p95 (nearest rank), min, max of a list of ms. */
export function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const rank = (p) => v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)];
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, p95: rank(0.95), min: v[0], max: v[v.length - 1], n: v.length };
}

/**
 * Measures the four pairs. ctx: { cli, node, env (no DOCKER_HOST), daemonEnv, registry (host:port),
 * baseImage (a registry reference), work (a folder of its own), log, timeoutMs }; runs: counted runs
 * per command (after one warm-up each). Returns { pairs, breakdown, daemonRequests, targets, commands }.
 */
export async function measureStartup(ctx, { runs = 10, say = () => undefined, baselineCli, baselineLabel = "baseline" } = {}) {
  const work = ctx.work;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const fp = (args, extra = {}) => run([ctx.node, ctx.cli, ...args], { env: ctx.env, timeoutMs: ctx.timeoutMs, log: ctx.log, ...extra });
  const cache = join(work, "cache");
  const env = { ...ctx.env, FLOWPACK_CACHE_DIR: cache };
  const daemonEnv = { ...ctx.daemonEnv, FLOWPACK_CACHE_DIR: cache };

  // ---- set-up (not timed): the same flow as a file manifest, an OCI layout, a registry image, a bundle
  say("startup: packaging the hello example as a file manifest, an OCI layout and a registry image");
  const file = join(work, "file.json");
  const layoutManifest = join(work, "layout.json");
  const dockerManifest = join(work, "docker.json");
  const bundleDir = join(work, "bundle");
  await fp(["package", FLOW, "--store", join(work, "store"), "-o", file, "-q"], { env });
  const oci = ["--packager", "docker", "--builder", "oci", "--base-image", ctx.baseImage, "-q"];
  await fp(["package", FLOW, ...oci, "--oci-layout", join(work, "layout"), "-o", layoutManifest], { env });
  await fp(["package", FLOW, ...oci, "--registry", `${ctx.registry}/bench-startup`, "-o", dockerManifest], { env });
  await fp(["bundle", FLOW, "-o", join(bundleDir, "flow.mjs")], { env });
  // What `node bundle.mjs` means for a flow: load the bundle, find the flow, run it, print the result
  // (the workloads' run.mjs, for the bundle flowpack ships).
  writeFileSync(
    join(bundleDir, "run.mjs"),
    [
      'import * as flows from "./flow.mjs";',
      'const flow = Object.values(flows).find((value) => value && value[Symbol.for("flowpack.flow")]);',
      "const params = Object.fromEntries(process.argv.slice(2).map((pair) => pair.split(\"=\")));",
      "process.stdout.write(`${JSON.stringify(await flow.run(params))}\\n`);",
      "",
    ].join("\n"),
  );
  const image = JSON.parse(readFileSync(dockerManifest, "utf8")).image;
  await run(["docker", "pull", "-q", image], { env: ctx.daemonEnv, timeoutMs: ctx.timeoutMs, log: ctx.log });

  const commands = {
    version: [ctx.node, ctx.cli, "--version"],
    nodeNoop: [ctx.node, "-e", "0"],
    fileRun: [ctx.node, ctx.cli, "run", file, "-p", PARAM],
    layoutRun: [ctx.node, ctx.cli, "run", layoutManifest, "-p", PARAM],
    nodeBundle: [ctx.node, join(bundleDir, "run.mjs"), PARAM],
    dockerRun: [ctx.node, ctx.cli, "run", dockerManifest, "-p", PARAM, "--network", "none"],
    bareDocker: ["docker", "run", "--rm", "--network", "none", image, "--param", PARAM],
  };
  // Another build of flowpack (e.g. the main branch) measured in the same rounds: before and after.
  if (baselineCli) {
    for (const key of ["version", "fileRun", "layoutRun", "dockerRun"]) commands[`${key}Baseline`] = [commands[key][0], baselineCli, ...commands[key].slice(2)];
  }
  const envOf = (key) => (key.startsWith("dockerRun") || key === "bareDocker" ? daemonEnv : env);
  // Every command gives the same result first (also the warm-up: caches, page cache, the image).
  for (const [key, argv] of Object.entries(commands)) {
    const r = await run(argv, { env: envOf(key), timeoutMs: ctx.timeoutMs, log: ctx.log, allowFailure: true });
    if (r.code !== 0) throw new Error(`startup: ${shellQuote(argv)} exited ${r.code}: ${r.stderr.trim().split("\n").pop()}`);
    if (!key.startsWith("version") && key !== "nodeNoop" && JSON.stringify(JSON.parse(r.stdout)) !== JSON.stringify(EXPECTED)) {
      throw new Error(`startup: ${shellQuote(argv)} printed ${r.stdout.trim()}, expected ${JSON.stringify(EXPECTED)}`);
    }
  }

  // ---- timed, alternating: per round every pair once, the pair's order flipped every other round
  const pairs = [
    { id: "docker", label: "`flowpack run m.json --on docker`", yardstickLabel: "`docker run --rm IMAGE --param …`", a: "dockerRun", b: "bareDocker" },
    { id: "file", label: "`flowpack run` of a file manifest", yardstickLabel: "`node` running the bundle", a: "fileRun", b: "nodeBundle" },
    { id: "layout", label: "`flowpack run` of an OCI layout", yardstickLabel: "`node` running the bundle", a: "layoutRun", b: "nodeBundle" },
    { id: "version", label: "`flowpack --version`", yardstickLabel: "`node -e 0`", a: "version", b: "nodeNoop" },
  ];
  const times = Object.fromEntries(Object.keys(commands).map((key) => [key, []]));
  say(`startup: ${runs} alternating rounds of ${pairs.length} pairs`);
  for (let round = 0; round < runs; round++) {
    for (const pair of pairs) {
      const keys = [pair.a, pair.b, ...(baselineCli ? [`${pair.a}Baseline`] : [])];
      for (const key of round % 2 ? keys.reverse() : keys) {
        const r = await run(commands[key], { env: envOf(key), timeoutMs: ctx.timeoutMs });
        times[key].push(r.ms);
      }
    }
  }
  const stat = Object.fromEntries(Object.entries(times).map(([key, list]) => [key, summary(list)]));
  const pairResults = pairs.map((pair) => {
    const a = stat[pair.a];
    const b = stat[pair.b];
    const baseline = baselineCli ? stat[`${pair.a}Baseline`] : undefined;
    return { ...pair, flowpack: a, yardstick: b, overheadMs: a.median - b.median, ratio: a.median / b.median, baseline, commands: { flowpack: shellQuote(commands[pair.a]), yardstick: shellQuote(commands[pair.b]) } };
  });

  // ---- where the time goes: one profiled run of each flowpack command, and the daemon's requests
  say("startup: one --cpu-prof run of each flowpack command, one run --on docker through a counting proxy");
  const breakdown = {};
  for (const key of ["version", "fileRun", "layoutRun", "dockerRun"]) {
    const dir = join(work, "profiles", key);
    const argv = [ctx.node, "--cpu-prof", `--cpu-prof-dir=${dir}`, ...commands[key].slice(1)];
    const r = await run(argv, { env: envOf(key), timeoutMs: ctx.timeoutMs, log: ctx.log });
    breakdown[key] = { wallMs: r.ms, ...profileBreakdown(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile")))) };
  }
  // Both clients through the proxy, alternating, a few times: the requests, and the time from spawn
  // to the first request (the client's own start-up), from there to the last answer (the daemon and
  // the container), and from the last answer to exit.
  const proxy = await countingEngineProxy(ctx.daemonEnv.DOCKER_HOST, join(work, "engine.sock"));
  let daemonRequests;
  const timeline = { dockerRun: [], bareDocker: [] };
  try {
    for (let round = 0; round < 3; round++) {
      for (const key of ["dockerRun", "bareDocker"]) {
        proxy.requests.length = 0;
        const started = performance.now();
        const r = await run(commands[key], { env: { ...envOf(key), DOCKER_HOST: proxy.host }, timeoutMs: ctx.timeoutMs, log: ctx.log });
        const ended = started + r.ms;
        const first = Math.min(...proxy.requests.map((q) => q.startedAt));
        const last = Math.max(...proxy.requests.map((q) => q.endedAt ?? ended));
        timeline[key].push({ requests: proxy.requests.map(({ method, path, status }) => `${method} ${path} ${status}`), beforeFirstMs: first - started, daemonMs: last - first, afterLastMs: ended - last, totalMs: r.ms });
      }
    }
    daemonRequests = timeline.dockerRun[0].requests;
  } finally {
    await proxy.close();
  }
  const medianOf = (list, field) => summary(list.map((t) => t[field])).median;
  const daemonTimeline = Object.fromEntries(
    Object.entries(timeline).map(([key, list]) => [key, { requests: list[0].requests, ...Object.fromEntries(["beforeFirstMs", "daemonMs", "afterLastMs", "totalMs"].map((f) => [f, medianOf(list, f)])) }]),
  );

  const targets = startupTargets(pairResults, breakdown, daemonRequests, daemonTimeline);
  return { runs, flow: "examples/hello (one file, zod)", image, baselineLabel: baselineCli ? baselineLabel : undefined, pairs: pairResults, breakdown, daemonRequests, daemonTimeline, targets };
}

/** PASS/FAIL lines in the shape bench/lib/report.mjs prints (workload "startup"); a miss says where the time goes. */
function startupTargets(pairs, breakdown, daemonRequests, daemonTimeline) {
  const byId = Object.fromEntries(pairs.map((p) => [p.id, p]));
  const spent = (key) => {
    const b = breakdown[key];
    if (!b) return "";
    const parts = Object.entries(b.byKind).filter(([, ms]) => ms >= 1).map(([kind, ms]) => `${kind} ${Math.round(ms)} ms`);
    return ` — one profiled run: ${Math.round(b.wallMs)} ms wall, main thread ${parts.join(", ")}`;
  };
  const docker = byId.docker;
  const file = byId.file;
  const version = byId.version;
  const out = [];
  const add = (id, text, pass, detail) => out.push({ id, workload: "startup", text, pass, detail });
  add(
    "run-docker-overhead",
    `\`flowpack run --on docker\` adds ≤ ${STARTUP_TARGETS.dockerOverheadMs} ms to \`docker run\` of the same image (median)`,
    docker.overheadMs <= STARTUP_TARGETS.dockerOverheadMs,
    `${fmtMs(docker.flowpack.median)} vs ${fmtMs(docker.yardstick.median)} = +${fmtMs(docker.overheadMs)}; ${daemonRequests.length} daemon requests (${daemonRequests.join(", ")})` +
      (docker.overheadMs > STARTUP_TARGETS.dockerOverheadMs
        ? ` — through the daemon proxy (medians of 3): spawn → first request ${fmtMs(daemonTimeline.dockerRun.beforeFirstMs)} (docker CLI: ${fmtMs(daemonTimeline.bareDocker.beforeFirstMs)}), first request → last answer ${fmtMs(daemonTimeline.dockerRun.daemonMs)} (docker CLI: ${fmtMs(daemonTimeline.bareDocker.daemonMs)}, ${daemonTimeline.bareDocker.requests.length} requests), last answer → exit ${fmtMs(daemonTimeline.dockerRun.afterLastMs)} (${fmtMs(daemonTimeline.bareDocker.afterLastMs)})` + spent("dockerRun").replace(" — ", "; ")
        : ""),
  );
  add(
    "version-vs-node",
    `\`flowpack --version\` ≤ ${STARTUP_TARGETS.versionFactor}× \`node -e 0\``,
    version.ratio <= STARTUP_TARGETS.versionFactor,
    `${fmtMs(version.flowpack.median)} vs ${fmtMs(version.yardstick.median)} = ${version.ratio.toFixed(2)}×` + (version.ratio > STARTUP_TARGETS.versionFactor ? spent("version") : ""),
  );
  add(
    "file-run-overhead",
    `a file-manifest run ≤ ${STARTUP_TARGETS.fileOverheadMs} ms over \`node\` running the bundle (median)`,
    file.overheadMs <= STARTUP_TARGETS.fileOverheadMs,
    `${fmtMs(file.flowpack.median)} vs ${fmtMs(file.yardstick.median)} = +${fmtMs(file.overheadMs)}` + (file.overheadMs > STARTUP_TARGETS.fileOverheadMs ? spent("fileRun") : ""),
  );
  return out;
}

/**
 * Main-thread time of one profiled run by kind, from its samples' self time: module loading (V8
 * compiling modules, Node's loader), flowpack (the CLI and its command bundles), dependencies (node_modules), the
 * flow (its bundle), node (Node's own JS), GC, and idle (the thread waiting: on the daemon, a child,
 * the disk). Plus the scripts that took longest.
 */
export function profileBreakdown(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byKind = { "module loading": 0, flowpack: 0, dependencies: 0, flow: 0, node: 0, gc: 0, idle: 0, other: 0 };
  const byScript = new Map();
  for (const [id, ms] of self) {
    const { functionName, url } = byId.get(id).callFrame;
    const kind =
      functionName === "(idle)" ? "idle"
      : functionName === "(garbage collector)" ? "gc"
      : /^(compileSourceTextModule|compileFunction|compileForInternalLoader|wrapSafe|parseSource|parseCJS)$/.test(functionName) || /modules\/(esm|cjs)|cjs-module-lexer/.test(url) ? "module loading"
      : /\/dist\/(cli\.mjs|cli-chunks\/|commands\/)/.test(url) ? "flowpack"
      : url.includes("/node_modules/") ? "dependencies"
      : url.startsWith("node:") ? "node"
      : url ? "flow"
      : "other";
    byKind[kind] += ms;
    if (url) {
      const short = url.replace(/^file:\/\/.*\/(dist|node_modules)\//, "$1/");
      byScript.set(short, (byScript.get(short) ?? 0) + ms);
    }
  }
  const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  const topScripts = [...byScript].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([script, ms]) => ({ script, ms: Math.round(ms * 10) / 10 }));
  return { profiledMs: Math.round((profile.endTime - profile.startTime) / 1000), byKind: round(byKind), topScripts };
}

/** A proxy on a unix socket in front of the daemon's, recording each request (method, path without ids, status). */
async function countingEngineProxy(daemonHost, socketPath) {
  if (!daemonHost?.startsWith("unix://")) throw new Error(`startup: the daemon must be on a unix socket, not ${daemonHost}`);
  const upstream = daemonHost.slice("unix://".length);
  rmSync(socketPath, { force: true });
  const requests = [];
  const sockets = new Set();
  const server = createServer((incoming, outgoing) => {
    const path = new URL(incoming.url, "http://engine").pathname.replace(/^\/v\d+\.\d+/, "").replace(/^\/containers\/(?!create$)[^/]+/, "/containers/{id}");
    const record = { method: incoming.method, path, status: undefined, startedAt: performance.now(), endedAt: undefined };
    requests.push(record);
    const forward = httpRequest({ socketPath: upstream, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      record.status = answer.statusCode;
      outgoing.writeHead(answer.statusCode, answer.headers);
      outgoing.flushHeaders();
      answer.pipe(outgoing);
      answer.on("end", () => (record.endedAt = performance.now()));
    });
    forward.on("error", () => outgoing.destroy());
    incoming.pipe(forward);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // The docker CLI attaches with `Upgrade: tcp` (a hijacked connection): passed through as bytes.
  server.on("upgrade", (incoming, socket, head) => {
    const path = new URL(incoming.url, "http://engine").pathname.replace(/^\/v\d+\.\d+/, "").replace(/^\/containers\/(?!create$)[^/]+/, "/containers/{id}");
    const record = { method: incoming.method, path, status: 101, startedAt: performance.now(), endedAt: undefined };
    requests.push(record);
    const daemon = connect(upstream, () => {
      const head_ = [`${incoming.method} ${incoming.url} HTTP/1.1`, ...Object.entries(incoming.headers).map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");
      daemon.write(head_);
      if (head.length) daemon.write(head);
      socket.pipe(daemon);
      daemon.pipe(socket);
    });
    sockets.add(daemon);
    const done = () => {
      record.endedAt ??= performance.now();
      socket.destroy();
      daemon.destroy();
    };
    daemon.on("close", done);
    socket.on("close", done);
    daemon.on("error", done);
    socket.on("error", done);
  });
  await new Promise((done) => server.listen(socketPath, done));
  return {
    host: `unix://${socketPath}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => server.close(() => done()));
      rmSync(socketPath, { force: true });
    },
  };
}

/** The start-up section of the results markdown. */
export function startupMarkdown(startup) {
  const lines = ["## Start-up: what flowpack adds to a run", ""];
  lines.push(`${startup.flow}; ${startup.runs} counted runs of each command after one warm-up, the two sides of each pair alternating. Wall time of the whole process, spawn to exit.`, "");
  const before = startup.baselineLabel;
  lines.push(
    `| what | median | p95 | yardstick | median | p95 | flowpack adds | ratio |${before ? ` ${before}: median | p95 | adds |` : ""}`,
    `|---|---|---|---|---|---|---|---|${before ? "---|---|---|" : ""}`,
  );
  for (const p of startup.pairs) {
    const then = before ? ` ${fmtMs(p.baseline.median)} | ${fmtMs(p.baseline.p95)} | +${fmtMs(p.baseline.median - p.yardstick.median)} |` : "";
    lines.push(`| ${p.label} | ${fmtMs(p.flowpack.median)} | ${fmtMs(p.flowpack.p95)} | ${p.yardstickLabel} | ${fmtMs(p.yardstick.median)} | ${fmtMs(p.yardstick.p95)} | ${p.overheadMs >= 0 ? "+" : "−"}${fmtMs(Math.abs(p.overheadMs))} | ${p.ratio.toFixed(2)}× |${then}`);
  }
  if (before) lines.push("", `*${before}*: the same commands with another build of flowpack, in the same rounds (a before/after on one machine at one load).`);
  lines.push("", `Daemon requests of one \`run --on docker\` (image present), counted at a proxy on the daemon's socket: ${startup.daemonRequests.length} — ${startup.daemonRequests.map((r) => `\`${r}\``).join(", ")}.`, "");
  const t = startup.daemonTimeline;
  if (t) {
    lines.push("The same run and `docker run` through that proxy (medians of 3, alternating; the proxy adds a hop to every request, alike for both):", "");
    lines.push("| client | requests | spawn → first request | first request → last answer | last answer → exit | total |", "|---|---|---|---|---|---|");
    for (const [key, label] of [["dockerRun", "`flowpack run --on docker`"], ["bareDocker", "`docker run --rm`"]]) {
      lines.push(`| ${label} | ${t[key].requests.length}: ${t[key].requests.map((r) => r.replace(/ \d+$/, "")).join(", ")} | ${fmtMs(t[key].beforeFirstMs)} | ${fmtMs(t[key].daemonMs)} | ${fmtMs(t[key].afterLastMs)} | ${fmtMs(t[key].totalMs)} |`);
    }
    lines.push("");
  }
  lines.push("Where the time goes (one run of each under `node --cpu-prof`; main-thread self time by kind; *idle* = waiting on the daemon, the container or the disk):", "");
  const kinds = Object.keys(Object.values(startup.breakdown)[0]?.byKind ?? {});
  lines.push(`| command | wall | ${kinds.join(" | ")} | top scripts |`, `|---|---|${kinds.map(() => "---|").join("")}---|`);
  for (const [key, b] of Object.entries(startup.breakdown)) {
    lines.push(`| ${key} | ${fmtMs(b.wallMs)} | ${kinds.map((k) => fmtMs(b.byKind[k])).join(" | ")} | ${b.topScripts.map((s) => `${s.script} ${fmtMs(s.ms)}`).join("; ")} |`);
  }
  lines.push("", "<details><summary>exact commands</summary>", "");
  for (const p of startup.pairs) lines.push(`- \`${p.commands.flowpack}\` vs \`${p.commands.yardstick}\``);
  lines.push("", "</details>", "");
  return lines.join("\n");
}

// ---- alone: node bench/lib/startup.mjs [--runs N] [--out NAME] ---------------------------------------
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({ options: { runs: { type: "string", default: "10" }, out: { type: "string" }, baseline: { type: "string" }, "baseline-label": { type: "string", default: "baseline" } } });
  const servicesDir = process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services";
  const servicesFile = join(servicesDir, "services.json");
  if (!existsSync(servicesFile)) throw new Error(`no ${servicesFile}: run bash scripts/services.sh start`);
  const services = JSON.parse(readFileSync(servicesFile, "utf8"));
  const work = resolve(process.env.FLOWPACK_BENCH_WORK ?? "/tmp/flowpack-bench", "startup");
  const env = { ...process.env, NO_COLOR: "1" };
  delete env.DOCKER_HOST;
  const started = new Date();
  const { cpus, loadavg } = await import("node:os");
  const loadStart = loadavg().map((l) => l.toFixed(2));
  const startup = await measureStartup(
    {
      cli: join(REPO, "dist", "cli.mjs"),
      node: process.execPath,
      env,
      daemonEnv: { ...env, DOCKER_HOST: services.DOCKER_HOST },
      registry: services.FLOWPACK_TEST_REGISTRY,
      baseImage: services.FLOWPACK_TEST_BASE_IMAGE,
      work,
      log: join(dirname(work), "startup.log"),
      timeoutMs: 300_000,
    },
    {
      runs: Number(values.runs),
      say: (m) => process.stderr.write(`[startup] ${m}\n`),
      baselineCli: values.baseline ? join(resolve(values.baseline), "dist", "cli.mjs") : undefined,
      baselineLabel: values["baseline-label"],
    },
  );
  const result = {
    schema: 1,
    date: started.toISOString().slice(0, 10),
    command: `node bench/lib/startup.mjs ${shellQuote(process.argv.slice(2))}`.trim(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model?.trim(), node: process.version, loadStart, loadEnd: loadavg().map((l) => l.toFixed(2)) },
    startup,
    targets: startup.targets,
  };
  const { targetLines } = await import("./report.mjs");
  const name = values.out ?? `${result.date}-startup`;
  const base = resultsBase(name, join(REPO, "bench", "results"));
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const md = [`# flowpack start-up — ${result.date}`, "", `Command: \`${result.command}\`. Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, node ${result.machine.node}; load average (1, 5, 15 min) at start ${result.machine.loadStart.join(" ")}, at the end ${result.machine.loadEnd.join(" ")} (a machine shared with other work: read the ratios and the before/after columns, measured in the same rounds).`, "", "## Targets", "", "```", ...targetLines(result.targets), "```", "", startupMarkdown(startup)];
  writeFileSync(`${base}.md`, `${md.join("\n")}\n`);
  process.stdout.write(`${startupMarkdown(startup)}\n${targetLines(result.targets).join("\n")}\n`);
}
