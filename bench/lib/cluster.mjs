// Fan-out figures (issue 11): N runs of the hello flow, one way after the other in the same bench
// run — N sequential `flowpack run --on docker` processes, then one `flowpack run --each` of N lines
// per batch target — with wall time, runs per second and per-run latency (median, p95).
//
// A batch target is one entry of clusterModes(). The swarm row runs on the swarm the test services
// form (their dockerd is its manager, a second dockerd its worker), or on the manager that
// FLOWPACK_BENCH_SWARM_HOST names (unix:///… or tcp://…, whose nodes can pull from the bench's
// loopback registry); it is skipped when there is neither (FLOWPACK_SKIP_SWARM=1).
import { run, shellQuote } from "./proc.mjs";

/** The ways to run N sets that are compared; `enabled: false` rows are listed as skipped, with why. */
export function clusterModes(ctx, { concurrency, swarmHost = process.env.FLOWPACK_BENCH_SWARM_HOST ?? ctx.swarmHost }) {
  return [
    { id: "docker-sequential", label: "sequential `flowpack run --on docker`", kind: "sequential", on: "docker", env: ctx.daemonEnv, enabled: true },
    { id: "docker-each", label: `\`flowpack run --each --on docker --concurrency ${concurrency}\``, kind: "each", on: "docker", env: ctx.daemonEnv, enabled: true },
    {
      id: "swarm-each",
      label: `\`flowpack run --each --on swarm --concurrency ${concurrency}\``,
      kind: "each",
      on: "swarm",
      env: { ...ctx.env, DOCKER_HOST: swarmHost },
      enabled: Boolean(swarmHost),
      skipped: "no swarm: the services formed none (FLOWPACK_SKIP_SWARM) and FLOWPACK_BENCH_SWARM_HOST names none",
    },
  ];
}

/** Nearest-rank percentile (p in 0..100) of numbers. */
export function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

function latency(ms) {
  const v = [...ms].sort((a, b) => a - b);
  return { median: percentile(v, 50), p95: percentile(v, 95), min: v[0], max: v[v.length - 1], n: v.length };
}

/**
 * Measures every enabled mode on `manifestPath` (a pushed, digest-pinned docker manifest of the
 * hello flow): `runs` runs each, every run's result checked. The image is pulled first, so no mode
 * pays for the pull.
 */
export async function measureCluster(ctx, { manifestPath, image, runs = 24, concurrency = 4, say, timeoutMs }) {
  await run(["docker", "pull", image], { env: ctx.daemonEnv, timeoutMs, log: ctx.log });
  const names = Array.from({ length: runs }, (_, i) => `run-${i}`);
  const rows = [];
  for (const mode of clusterModes(ctx, { concurrency })) {
    if (!mode.enabled) {
      rows.push({ id: mode.id, label: mode.label, skipped: mode.skipped });
      continue;
    }
    try {
      const row = mode.kind === "sequential" ? await sequential(ctx, mode, manifestPath, names, timeoutMs) : await batch(ctx, mode, manifestPath, names, concurrency, timeoutMs);
      rows.push({ id: mode.id, label: mode.label, ...row });
      say(`fan-out ${mode.id}: ${runs} runs in ${(row.wallMs / 1000).toFixed(2)} s (${row.runsPerSecond.toFixed(2)} runs/s), latency median ${Math.round(row.latency.median)} ms, p95 ${Math.round(row.latency.p95)} ms`);
    } catch (error) {
      rows.push({ id: mode.id, label: mode.label, error: error.message.split("\n")[0] });
      say(`fan-out ${mode.id} FAILED: ${error.message}`);
    }
  }
  const peer = rows.find((r) => r.id === "docker-sequential" && r.wallMs);
  for (const row of rows) if (peer && row.wallMs) row.speedup = peer.wallMs / row.wallMs;
  return {
    targets: clusterTargets(rows, runs, concurrency),
    runs,
    concurrency,
    manifestImage: image,
    definitions: {
      wall: "from starting the first command to the end of the last one, in the harness",
      latency:
        "sequential: each `flowpack run` process's wall time (CLI start, daemon round trips, container create/start/wait/remove, result); --each: each result line's durationMs (one run, from asking the target to its record; the CLI starts once per batch)",
      speedup: "sequential wall time ÷ this row's wall time, measured in the same bench run",
    },
    rows,
  };
}

/** The issue's fan-out target: the batch on the swarm at least 2× faster than the same runs one after the other on docker. */
const SWARM_SPEEDUP_TARGET = 2;

function clusterTargets(rows, runs, concurrency) {
  const swarm = rows.find((r) => r.id === "swarm-each");
  const text = `${runs} runs: \`--each --on swarm --concurrency ${concurrency}\` ≥ ${SWARM_SPEEDUP_TARGET}× faster than sequential \`run --on docker\``;
  if (!swarm?.speedup) return [{ workload: "fan-out", text, detail: swarm?.skipped ?? swarm?.error ?? "not measured", pass: null }];
  return [{ workload: "fan-out", text, detail: `${swarm.speedup.toFixed(2)}×`, pass: swarm.speedup >= SWARM_SPEEDUP_TARGET }];
}

async function sequential(ctx, mode, manifestPath, names, timeoutMs) {
  const ms = [];
  let command;
  const started = performance.now();
  for (const name of names) {
    const argv = [ctx.node, ctx.cli, "run", manifestPath, "--on", mode.on, "--network", "none", "-p", `name=${name}`];
    command = shellQuote(argv);
    const r = await run(argv, { env: mode.env, timeoutMs, log: ctx.log });
    const result = JSON.parse(r.stdout);
    if (result.greeting !== `Hello, ${name}!`) throw new Error(`run ${name} printed ${r.stdout.slice(0, 200)}`);
    ms.push(r.ms);
  }
  const wallMs = performance.now() - started;
  return { command: `${names.length} × ${command}`, wallMs, runsPerSecond: names.length / (wallMs / 1000), latency: latency(ms) };
}

async function batch(ctx, mode, manifestPath, names, concurrency, timeoutMs) {
  // a swarm service attaches to swarm networks only (`none` is refused): its runs get the swarm's default
  const network = mode.on === "swarm" ? [] : ["--network", "none"];
  const argv = [ctx.node, ctx.cli, "run", manifestPath, "--on", mode.on, ...network, "--each", "-", "--concurrency", String(concurrency)];
  const input = names.map((name) => JSON.stringify({ name })).join("\n") + "\n";
  const r = await run(argv, { env: mode.env, timeoutMs, log: ctx.log, input });
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  if (lines.length !== names.length) throw new Error(`--each printed ${lines.length} lines for ${names.length} sets`);
  lines.forEach((l, i) => {
    if (l.index !== i || !l.ok || l.result?.greeting !== `Hello, ${names[i]}!`) throw new Error(`--each line ${i}: ${JSON.stringify(l).slice(0, 200)}`);
  });
  const nodes = [...new Set(lines.map((l) => l.node))];
  return { command: `${shellQuote(argv)} < ${names.length} lines`, wallMs: r.ms, runsPerSecond: names.length / (r.ms / 1000), latency: latency(lines.map((l) => l.durationMs)), nodes };
}

/** The results markdown's section. */
export function clusterMarkdown(cluster, fmtMs) {
  const lines = [`## Fan-out: ${cluster.runs} runs of the hello flow`, ""];
  lines.push(`Image ${cluster.manifestImage}, pulled before the first mode. Latency — ${cluster.definitions.latency}. Wall — ${cluster.definitions.wall}.`, "");
  lines.push("| mode | wall | runs/s | latency median | latency p95 | × faster than sequential | nodes |", "|---|---|---|---|---|---|---|");
  for (const r of cluster.rows) {
    if (r.skipped || r.error) {
      lines.push(`| ${r.label} | ${r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.error.replace(/\|/g, "\\|")}`} | | | | | |`);
      continue;
    }
    lines.push(`| ${r.label} | ${fmtMs(r.wallMs)} | ${r.runsPerSecond.toFixed(2)} | ${fmtMs(r.latency.median)} | ${fmtMs(r.latency.p95)} | ${r.speedup ? `${r.speedup.toFixed(2)}×` : "–"} | ${r.nodes?.join(", ") ?? "–"} |`);
  }
  lines.push("", "<details><summary>fan-out commands</summary>", "", ...cluster.rows.filter((r) => r.command).map((r) => `- ${r.label}: \`${r.command}\``), "", "</details>", "");
  return lines;
}
