#!/usr/bin/env node
// flowpack side-by-side benchmark (issue 5). See bench/README.md.
//
//   npm run bench                                   # full: 1 warm-up + 5 counted runs, all workloads
//   npm run bench -- --runs 1 --workloads hello      # quick
//   npm run bench -- --help
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, release, platform } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { killAll, run, shellQuote } from "./lib/proc.mjs";
import { diffCounters, splitAtRegistry, startCountingProxy } from "./lib/proxy.mjs";
import { aliasImage, imageSizes, readImage } from "./lib/registry.mjs";
import { measureLimit } from "./lib/limit.mjs";
import { install, makeCopy, setVariant, treeSize, WORKLOADS } from "./lib/workloads.mjs";
import { createTools, hasOciBuilder, toolVersions } from "./lib/tools.mjs";
import { measureWatch } from "./lib/watch.mjs";
import { measureStartup, startupMarkdown } from "./lib/startup.mjs";
import { measureCluster } from "./lib/cluster.mjs";
import { evaluateTargets, markdown, resultsBase, stats, svg, targetLines, fmtMs, fmtBytes } from "./lib/report.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, "..");
const USAGE = `usage: npm run bench -- [options]

  --runs N            counted runs per tool × workload (default 5, or $FLOWPACK_BENCH_RUNS)
  --warmup N          uncounted warm-up runs first (default 1)
  --workloads a,b     subset of: ${Object.keys(WORKLOADS).join(", ")} (default all, or $FLOWPACK_BENCH_WORKLOADS)
  --tools a,b         subset of: flowpack-oci, flowpack-oci-warm, flowpack-docker, dockerfile, containerify
                      (default all; flowpack-oci-warm: flowpack-oci warm, as at a terminal)
  --run-runs N        container runs per image for the run → result figures (default min(runs, 3); 0 = skip)
  --timeout S         limit for every child process, seconds (default 900)
  --out NAME          results file name without extension (default: the date, plus "-quick" when runs < 5)
  --keep-services     do not stop the services even if this run started them
                      (work dir: $FLOWPACK_BENCH_WORK, default /tmp/flowpack-bench; services: $FLOWPACK_SERVICES_DIR)
  --no-limit          skip the in-process read+gzip+sha256 limit
  --no-watch          skip the flowpack package --watch measurements
  --no-startup        skip the start-up pairs (flowpack run/--version vs docker run/node; bench/lib/startup.mjs)
  --startup-runs N    counted runs of each start-up command (default 10)
  --no-cluster        skip the fan-out figures (24 runs of hello: sequential run --on docker vs run --each;
                      and the same on the services' two-node swarm, or the manager $FLOWPACK_BENCH_SWARM_HOST names)
  --flowpack DIR      benchmark the flowpack build in DIR (package root with dist/ and node_modules;
                      default: this checkout). Either way dist/ is snapshotted at start.
  --flowpack-label T  how to name that build in the results (default: git describe of its directory)
  --registry-delay MS "remote registry" mode: the proxy delays every registry request by MS ms, for
                      every tool (default 0); results are named <date>-remote and judged by the
                      remote targets (round trips on the critical path, speed against the others)
  -h, --help`;

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: process.env.FLOWPACK_BENCH_RUNS ?? "5" },
    warmup: { type: "string", default: "1" },
    workloads: { type: "string", default: process.env.FLOWPACK_BENCH_WORKLOADS },
    tools: { type: "string" },
    "run-runs": { type: "string" },
    timeout: { type: "string", default: "900" },
    out: { type: "string" },
    "keep-services": { type: "boolean", default: false },
    "no-limit": { type: "boolean", default: false },
    "no-watch": { type: "boolean", default: false },
    "no-startup": { type: "boolean", default: false },
    "startup-runs": { type: "string", default: "10" },
    "no-cluster": { type: "boolean", default: false },
    flowpack: { type: "string" },
    "flowpack-label": { type: "string" },
    "registry-delay": { type: "string", default: "0" },
    help: { type: "boolean", short: "h", default: false },
  },
  allowPositionals: false,
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name, value, min) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const RUNS = int("runs", args.runs, 1);
const WARMUP = int("warmup", args.warmup, 0);
const STARTUP_RUNS = int("startup-runs", args["startup-runs"], 1);
const RUN_RUNS = args["run-runs"] === undefined ? Math.min(RUNS, 3) : int("run-runs", args["run-runs"], 0);
const TIMEOUT_MS = int("timeout", args.timeout, 10) * 1000;
const REGISTRY_DELAY_MS = int("registry-delay", args["registry-delay"], 0);
const workloadNames = args.workloads ? args.workloads.split(",").map((s) => s.trim()).filter(Boolean) : Object.keys(WORKLOADS);
for (const w of workloadNames) {
  if (!WORKLOADS[w]) {
    console.error(`unknown workload ${w}; known: ${Object.keys(WORKLOADS).join(", ")}`);
    process.exit(2);
  }
}

const started = new Date();
const runId = `r${started.toISOString().replace(/[-:T]/g, "").slice(2, 14)}`; // rYYMMDDhhmmss
const date = started.toISOString().slice(0, 10);
const outName = args.out ?? `${date}${REGISTRY_DELAY_MS > 0 ? "-remote" : ""}${RUNS < 5 ? "-quick" : ""}`;
// Outside the repository on purpose: the copies hold .mjs files and bundles that eslint would lint.
const WORK = resolve(process.env.FLOWPACK_BENCH_WORK ?? "/tmp/flowpack-bench");
const RESULTS = join(BENCH, "results");
mkdirSync(WORK, { recursive: true });
mkdirSync(RESULTS, { recursive: true });
const LOG = join(WORK, `${runId}.log`);
writeFileSync(LOG, `flowpack bench ${runId}: ${process.argv.slice(2).join(" ")}\n`);

const CONTAINER_PREFIX = `fpbench-${runId}`;
let containerCount = 0;
const say = (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ---- cleanup, whatever happens --------------------------------------------------------------
const cleanup = { proxy: undefined, localRefs: new Set(), stopServices: false, daemonEnv: undefined, warm: undefined, done: false };
async function tearDown() {
  if (cleanup.done) return;
  cleanup.done = true;
  killAll();
  if (cleanup.daemonEnv && containerCount > 0) {
    const left = await run(["docker", "ps", "-aq", "--filter", `name=${CONTAINER_PREFIX}-`], { env: cleanup.daemonEnv, timeoutMs: 60_000, allowFailure: true }).catch(() => undefined);
    const ids = left?.stdout.split("\n").filter(Boolean) ?? [];
    if (ids.length) await run(["docker", "rm", "-f", ...ids], { env: cleanup.daemonEnv, timeoutMs: 120_000, allowFailure: true, log: LOG }).catch(() => undefined);
  }
  if (cleanup.daemonEnv && cleanup.localRefs.size > 0) {
    say(`removing ${cleanup.localRefs.size} local image tags this run made`);
    const refs = [...cleanup.localRefs];
    for (let i = 0; i < refs.length; i += 50) {
      await run(["docker", "rmi", ...refs.slice(i, i + 50)], { env: cleanup.daemonEnv, timeoutMs: 300_000, allowFailure: true, log: LOG }).catch(() => undefined);
    }
  }
  // The warm processes flowpack-oci-warm left go with the run.
  if (cleanup.warm) await run(cleanup.warm.argv, { env: cleanup.warm.env, timeoutMs: 60_000, allowFailure: true, log: LOG }).catch(() => undefined);
  await cleanup.proxy?.close().catch(() => undefined);
  if (cleanup.stopServices) {
    say("stopping the services this run started");
    await run(["bash", join(ROOT, "scripts", "services.sh"), "stop"], { timeoutMs: 120_000, allowFailure: true, log: LOG }).catch(() => undefined);
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    say(`${signal}: stopping`);
    tearDown().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  say(`failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await tearDown();
}

async function main() {
  // ---- services ----------------------------------------------------------------------------
  const servicesDir = process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services";
  const servicesFile = join(servicesDir, "services.json");
  const wereRunning = existsSync(servicesFile);
  say(`services: ${wereRunning ? "already running (will be left running)" : "starting"} (scripts/services.sh start)`);
  await run(["bash", join(ROOT, "scripts", "services.sh"), "start"], { timeoutMs: 600_000, log: LOG });
  cleanup.stopServices = !wereRunning && !args["keep-services"];
  const services = JSON.parse(readFileSync(servicesFile, "utf8"));
  const upstream = services.FLOWPACK_TEST_REGISTRY;
  const [baseRepository, baseTag] = services.FLOWPACK_TEST_BASE_IMAGE.slice(upstream.length + 1).split(":");

  // The flowpack under test: a snapshot of this checkout's dist/ taken now, so that a rebuild
  // during the run (npm run build elsewhere) cannot change the tool halfway.
  // `--flowpack DIR` benchmarks another build (a package root with dist/ and its node_modules).
  const flowpackSource = args.flowpack ? resolve(args.flowpack) : ROOT;
  if (!existsSync(join(flowpackSource, "dist", "cli.mjs"))) throw new Error(`${join(flowpackSource, "dist", "cli.mjs")} is missing: run npm run build first`);
  const snapshot = join(WORK, "flowpack");
  rmSync(snapshot, { recursive: true, force: true });
  mkdirSync(snapshot, { recursive: true });
  await run(["cp", "-a", join(flowpackSource, "dist"), join(flowpackSource, "package.json"), snapshot], { timeoutMs: 120_000, log: LOG });
  if (existsSync(join(flowpackSource, "schema"))) await run(["cp", "-a", join(flowpackSource, "schema"), snapshot], { timeoutMs: 120_000, log: LOG });
  symlinkSync(join(flowpackSource, "node_modules"), join(snapshot, "node_modules"));
  const cli = join(snapshot, "dist", "cli.mjs");
  const dockerConfig = join(WORK, "docker-config");
  mkdirSync(dockerConfig, { recursive: true });
  if (!existsSync(join(dockerConfig, "config.json"))) writeFileSync(join(dockerConfig, "config.json"), "{}\n");
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" };
  delete env.DOCKER_HOST;
  const daemonEnv = { ...env, DOCKER_HOST: services.DOCKER_HOST };
  cleanup.daemonEnv = daemonEnv;
  const cacheDir = join(WORK, "cache");
  mkdirSync(cacheDir, { recursive: true });
  const ctx = {
    repoRoot: ROOT,
    flowpackRoot: snapshot,
    flowpackSource,
    flowpackLabel: args["flowpack-label"],
    cli,
    node: process.execPath,
    docker: "docker",
    containerify: join(BENCH, "node_modules", "containerify", "lib", "cli.js"),
    env,
    daemonEnv,
    baseLocal: "node:20-bookworm-slim",
    baseRepository,
    baseTag,
    cacheDir,
    log: LOG,
    timeoutMs: TIMEOUT_MS,
  };
  if (!existsSync(ctx.containerify)) {
    say("installing the bench's own dependencies (containerify) with npm ci in bench/");
    await run(["npm", "ci", "--no-audit", "--no-fund"], { cwd: BENCH, timeoutMs: 300_000, log: LOG });
  }

  // ---- tools --------------------------------------------------------------------------------
  const notes = [];
  const allTools = createTools(ctx);
  const wanted = args.tools ? new Set(args.tools.split(",").map((s) => s.trim())) : undefined;
  let tools = allTools.filter((t) => !wanted || wanted.has(t.id));
  if (tools.some((t) => t.id.startsWith("flowpack-oci")) && !(await hasOciBuilder(ctx))) {
    tools = tools.filter((t) => !t.id.startsWith("flowpack-oci"));
    notes.push("flowpack --builder oci is not in this build of flowpack (dist/): it was skipped, and the targets that need it are SKIP.");
    say("flowpack --builder oci is not available in dist/: skipping it");
  }
  if (tools.some((t) => t.id === "flowpack-oci-warm")) cleanup.warm = { argv: [ctx.node, ctx.cli, "warm", "stop"], env: ctx.env };
  const versions = await toolVersions(ctx);
  if (versions.raw.flowpack.startsWith("unknown")) {
    throw new Error(`the flowpack under test does not start: ${versions.raw.flowpack} (is dist/ in the middle of a rebuild? npm run build, or --flowpack DIR)`);
  }
  if (args.flowpack) notes.push(`flowpack under test: the build in ${flowpackSource} (--flowpack), not this checkout's dist/.`);
  say(`tools: ${tools.map((t) => `${t.id} [${versions[t.id]}]`).join("; ")}`);
  if (versions.raw.storageDriver === "vfs") {
    notes.push("The Docker daemon uses the vfs storage driver (every layer and container is a full copy): this slows the daemon-based tools' builds and every `docker run` a lot compared with overlay2 (FLOWPACK_DOCKER_STORAGE_DRIVER=overlay2 scripts/services.sh restart).");
  }
  notes.push("The Dockerfile recipe and containerify run the flow module as-is, so `import { flow } from \"flowpack\"` must resolve in their images: the harness writes node_modules/flowpack as this checkout's `flow` API bundled into one small ES module (what an installed flowpack would provide; flowpack is not published).");
  notes.push("The Docker CLI has no buildx plugin here, so `docker build` is the legacy builder (as with docker-py, which Prefect uses): the whole context, node_modules included, is sent to the daemon on every build.");

  // ---- proxy and base --------------------------------------------------------------------------
  const proxy = await startCountingProxy(upstream, { delayMs: REGISTRY_DELAY_MS });
  if (REGISTRY_DELAY_MS > 0) {
    notes.push(`Remote registry mode (--registry-delay ${REGISTRY_DELAY_MS}): the counting proxy holds every registry request ${REGISTRY_DELAY_MS} ms before forwarding it, for every tool alike (the Docker daemon's pushes included), like a registry that far away. Round trips on the critical path: the longest chain of requests in which each started only after the previous one had been answered, from the proxy's own start/end of each request.`);
  }
  cleanup.proxy = proxy;
  const base = await readImage(upstream, baseRepository, baseTag);
  const local = await run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ctx.baseLocal], { env: daemonEnv, timeoutMs: 60_000 });
  const localDiffIds = JSON.parse(local.stdout);
  if (JSON.stringify(localDiffIds) !== JSON.stringify(base.layers.map((l) => l.diffId))) {
    throw new Error(`${ctx.baseLocal} in the daemon is not the image at ${services.FLOWPACK_TEST_BASE_IMAGE} (their layers differ): rerun scripts/services.sh start`);
  }

  // containerify passes its --fromImage, tag included, as the `from` of a cross-repository mount,
  // which registries refuse (the upload then sends the base layers again). An untagged
  // --fromImage (= :latest) avoids that, so containerify reads the same base from a bench
  // repository where it is :latest. Same manifest, same digest.
  const aliasDigest = await aliasImage(upstream, baseRepository, baseTag, "bench-base/node");
  if (aliasDigest !== base.digest) throw new Error(`bench-base/node:latest is ${aliasDigest}, expected ${base.digest}`);
  ctx.containerifyBase = "bench-base/node";

  /** Tells the daemon the base is in the registry at `host` (uploads nothing: the blobs are there). */
  const seedBase = async (host) => {
    const seed = `${host}/${baseRepository}:${baseTag}`;
    const before = proxy.counters(host);
    await run(["docker", "tag", ctx.baseLocal, seed], { env: daemonEnv, timeoutMs: 60_000, log: LOG });
    await run(["docker", "push", seed], { env: daemonEnv, timeoutMs: TIMEOUT_MS, log: LOG });
    await run(["docker", "rmi", seed], { env: daemonEnv, timeoutMs: 60_000, log: LOG, allowFailure: true });
    const seeded = diffCounters(proxy.counters(host), before);
    if (seeded.uploadBytes > 0) notes.push(`seeding the base on ${host} uploaded ${seeded.uploadBytes} bytes (expected 0)`);
  };
  notes.push("containerify's --doCrossMount sends its --fromImage, tag included, as the mount source (`from=flowpack-test/node:20`), which the registry rejects, so it uploads the base layers again (about 42 MiB) on every cold push. To measure it at its best, the harness gives it the same base image (same digest) untagged, as bench-base/node (:latest), which mounts.");

  const result = {
    schema: 1,
    date,
    runId,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${shellQuote(process.argv.slice(2))}` : ""}`,
    options: { runs: RUNS, warmup: WARMUP, runRuns: RUN_RUNS, timeoutSeconds: TIMEOUT_MS / 1000, workloads: workloadNames, tools: tools.map((t) => t.id), registryDelayMs: REGISTRY_DELAY_MS },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model?.trim() ?? "unknown",
      memGiB: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
      loadStart: loadavg().map((l) => l.toFixed(2)),
    },
    services: {
      dockerHost: services.DOCKER_HOST,
      registry: upstream,
      baseImage: services.FLOWPACK_TEST_BASE_IMAGE,
      baseDigest: base.digest,
      baseLocal: ctx.baseLocal,
      baseBytes: base.layers.reduce((n, l) => n + l.size, 0),
    },
    definitions: {
      cold:
        "the first build+push of the workload into a fresh repository on a registry endpoint that is new to the tool: every build gets its own port on the counting proxy (same registry storage behind it), so the Docker daemon has no record of having pushed anything there and cannot mount earlier layers; the base image is already in that registry (for the daemon, an untimed `docker push` of the base to the new endpoint records that, uploading nothing), and every tool may mount or skip the base layers. The flow's code is new (a unique line), so no tool has built this exact app before. Local caches are warm, as a user's would be: node_modules installed with `npm ci` beforehand (not timed), the daemon's build cache, containerify's base-layer cache folder, flowpack's own caches, all warmed by the warm-up run.",
      codeOnly: "one line of the flow changed (the `const VARIANT = …` line), then rebuild+push into the same repository on the same endpoint, right after the cold build.",
      watch: "flowpack's two builders only: `flowpack package … --watch` runs for the whole measurement (its first build is not counted); the same one-line change is saved `runs` times, each timed from the save to the line flowpack prints once the image is pushed and the manifest written (this includes the watcher's 30 ms quiet period). The daemon is told the base is in the registry first, as for the other builds.",
      limit: "read the tool's own layer bytes (uncompressed tar, from a file in the page cache), gzip them (zlib default level) and sha256 both streams, once, in the harness process: cold = all layers the tool added on top of the base; code-only = the layers that differ from its cold image.",
      run: "flowpack images: `flowpack run manifest.json --network none` (pulls nothing: the image was pulled before, untimed); the other images: `docker run --rm --network none IMAGE` (their CMD runs the flow via run.mjs); bare: `docker run --rm --network none --entrypoint node IMAGE -e 0` on the same image. Timed from spawn to exit, result checked.",
    },
    versions,
    tools: tools.map((t) => ({ id: t.id, label: t.label, version: versions[t.id] })),
    notes,
    workloads: [],
    targets: [],
  };

  // ---- start-up: what flowpack adds to a run (issue 13) --------------------------------------------
  if (!args["no-startup"]) {
    const startupCtx = { ...ctx, registry: upstream, baseImage: services.FLOWPACK_TEST_BASE_IMAGE, work: join(WORK, "startup") };
    result.startup = await measureStartup(startupCtx, { runs: STARTUP_RUNS, say });
  }

  // ---- workloads --------------------------------------------------------------------------------
  let clusterInput; // the hello flow as flowpack-oci pushed it: what the fan-out figures run
  for (const name of workloadNames) {
    const w = WORKLOADS[name];
    const sourceDir = join(BENCH, "workloads", name);
    say(`${name}: npm ci (cached by lockfile)`);
    const installed = await install({ name, sourceDir, workDir: WORK, log: LOG, timeoutMs: Math.max(TIMEOUT_MS, 1_200_000) });
    const entry = {
      name,
      description: w.description,
      flowName: w.flowName,
      install: { ms: installed.ms, cached: installed.cached },
      nodeModules: treeSize(join(installed.dir, "node_modules")),
      bundle: undefined,
      steps: [],
      runs: [],
      summary: {},
    };
    result.workloads.push(entry);

    // one copy per tool
    const copies = {};
    for (const tool of tools) {
      const dir = join(WORK, "copies", name, tool.id);
      await makeCopy({ sourceDir, installDir: installed.dir, dir, log: LOG, timeoutMs: TIMEOUT_MS });
      const prepared = await tool.prepare(dir);
      copies[tool.id] = dir;
      entry.summary[tool.id] = { dockerfile: prepared?.dockerfile };
    }

    // the gzipped bundle, for the code-only upload target
    {
      const bundleDir = join(WORK, "bundle", name);
      mkdirSync(bundleDir, { recursive: true });
      const fp = join(WORK, "copies", name, "bundle-src");
      await makeCopy({ sourceDir, installDir: installed.dir, dir: fp, log: LOG, timeoutMs: TIMEOUT_MS });
      const out = await run([ctx.node, cli, "--json", "bundle", join(fp, "flow.mjs"), "-o", join(bundleDir, "flow.mjs")], { env, timeoutMs: TIMEOUT_MS, log: LOG });
      const info = JSON.parse(out.stdout);
      const code = readFileSync(join(bundleDir, "flow.mjs"));
      entry.bundle = { bytes: code.length, gzipBytes: gzipSync(code).length, externals: info.externals.map((e) => `${e.name}@${e.version}`) };
    }
    say(`${name}: node_modules ${fmtBytes(entry.nodeModules.bytes)} / ${entry.nodeModules.files} files; bundle ${fmtBytes(entry.bundle.bytes)} (${fmtBytes(entry.bundle.gzipBytes)} gzipped)`);

    const failed = new Map();
    const last = {}; // tool id -> { cold, codeOnly } steps of the last counted iteration
    const previousLocal = {};
    for (let iter = 0; iter < WARMUP + RUNS; iter++) {
      const counted = iter >= WARMUP;
      for (const tool of tools) {
        if (failed.has(tool.id)) continue;
        const dir = copies[tool.id];
        const host = await proxy.listen();
        const namespace = `bench/${runId}/${tool.id}-${iter}`;
        const localRefs = [];
        try {
          if (tool.daemon) await seedBase(host);
          const pair = {};
          for (const phase of ["cold", "codeOnly"]) {
            const variant = `${phase === "cold" ? "cold" : "edit"}-${runId}-${iter}`;
            setVariant(dir, variant);
            const tag = `${phase === "cold" ? "cold" : "edit"}-${iter}`;
            const before = proxy.counters(host);
            const startedAt = performance.now();
            const built = await tool.build({ dir, host, namespace, tag, flowName: w.flowName });
            const endedAt = performance.now();
            const traffic = diffCounters(proxy.counters(host), before);
            delete traffic.mark;
            traffic.roundTrips = proxy.criticalPath(host, before);
            // One process (flowpack's oci builder): where its time went, seen from the registry's side.
            if (tool.id.startsWith("flowpack-oci")) traffic.split = splitAtRegistry(proxy.events(host, before), startedAt, endedAt);
            const image = await readImage(upstream, built.ref.repository, built.ref.tag);
            if (built.ref.digest && built.ref.digest !== image.digest) {
              throw new Error(`${tool.id} reported ${built.ref.digest} but the registry has ${image.digest} for ${built.ref.repository}:${built.ref.tag}`);
            }
            for (const ref of built.localRefs ?? []) localRefs.push(ref);
            if (tool.id === "flowpack-docker") localRefs.push(`flowpack/${w.flowName}:${tag}`);
            const step = {
              workload: name,
              tool: tool.id,
              iteration: iter,
              counted,
              phase,
              variant,
              ms: built.ms,
              command: built.commands.join(" && "),
              image: `${host}/${built.ref.repository}:${built.ref.tag}@${image.digest}`,
              repository: built.ref.repository,
              manifestPath: built.manifestPath,
              traffic,
              sizes: imageSizes(image, base),
              layers: image.layers,
            };
            entry.steps.push(step);
            pair[phase] = step;
            say(`${name} ${counted ? `run ${iter - WARMUP + 1}/${RUNS}` : "warm-up"} ${tool.id} ${phase}: ${fmtMs(step.ms)}, uploaded ${fmtBytes(traffic.uploadBytes)}, image ${fmtBytes(step.sizes.totalBytes)} (+${fmtBytes(step.sizes.addedBytes)})`);
          }
          if (counted) last[tool.id] = pair;
        } catch (error) {
          failed.set(tool.id, error.message);
          entry.summary[tool.id].error = error.message;
          say(`${name} ${tool.id} FAILED: ${error.message}`);
        }
        // keep the daemon's store small (vfs): drop the previous iteration's local tags
        for (const ref of previousLocal[tool.id] ?? []) {
          if (!localRefs.includes(ref)) await run(["docker", "rmi", ref], { env: daemonEnv, timeoutMs: 300_000, allowFailure: true, log: LOG });
        }
        previousLocal[tool.id] = localRefs;
        for (const ref of localRefs) cleanup.localRefs.add(ref);
      }
    }

    // ---- flowpack package --watch: save → pushed -----------------------------------------------------
    for (const tool of args["no-watch"] ? [] : tools.filter((t) => t.watch && !failed.has(t.id))) {
      const dir = copies[tool.id];
      const host = await proxy.listen();
      try {
        if (tool.daemon) await seedBase(host);
        if (tool.id === "flowpack-docker") cleanup.localRefs.add(`flowpack/${w.flowName}:watch`);
        const watch = tool.watch({ dir, host, namespace: `bench/${runId}/${tool.id}-watch`, tag: "watch" });
        const uploads = [];
        let before = proxy.counters(host);
        const measured = await measureWatch({
          argv: watch.argv,
          cwd: dir,
          env: watch.env,
          log: LOG,
          edits: RUNS,
          timeoutMs: TIMEOUT_MS,
          edit: (i) => {
            before = proxy.counters(host);
            setVariant(dir, `watch-${runId}-${i}`);
          },
          onBuilt: () => uploads.push(diffCounters(proxy.counters(host), before).uploadBytes),
        });
        const manifest = JSON.parse(readFileSync(watch.manifestPath, "utf8"));
        const at = manifest.image.indexOf("@");
        const path = manifest.image.slice(host.length + 1, at);
        const pushed = await readImage(upstream, path.slice(0, path.lastIndexOf(":")), "watch");
        if (pushed.digest !== manifest.image.slice(at + 1)) throw new Error(`the watch's last manifest names ${manifest.image}, but the registry has ${pushed.digest}`);
        entry.summary[tool.id].watch = { ...stats(measured.ms), firstMs: measured.firstMs, uploaded: stats(uploads), command: shellQuote(watch.argv) };
        say(`${name} ${tool.id} --watch: save → pushed ${fmtMs(stats(measured.ms).median)} (${RUNS} saves; first build ${fmtMs(measured.firstMs)}), uploaded ${fmtBytes(stats(uploads).median)} per save`);
      } catch (error) {
        entry.summary[tool.id].watchError = error.message;
        notes.push(`${name}/${tool.id}: the --watch measurement failed: ${error.message.split("\n")[0]}`);
        say(`${name} ${tool.id} --watch FAILED: ${error.message}`);
      }
    }

    // ---- run → result, bare docker run ------------------------------------------------------------
    for (const tool of tools) {
      const pair = last[tool.id];
      if (pair && name === "hello" && tool.id === "flowpack-oci") clusterInput = { manifestPath: pair.codeOnly.manifestPath, image: pair.codeOnly.image.replace(/:[^:/@]+@/, "@") };
      if (!pair || RUN_RUNS === 0) continue;
      // by digest: what the registry stores, whatever the tag says now
      const image = pair.codeOnly.image.replace(/:[^:/@]+@/, "@");
      try {
        await run(["docker", "pull", image], { env: daemonEnv, timeoutMs: TIMEOUT_MS, log: LOG });
        cleanup.localRefs.add(image);
        // containers are named after the run, so that teardown can remove any a timeout left behind
        const named = (argv) => [...argv.slice(0, 3), "--name", `${CONTAINER_PREFIX}-${++containerCount}`, ...argv.slice(3)];
        const bareArgv = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "node", image, "-e", "0"];
        const flowTimes = [];
        const bareTimes = [];
        let output;
        let flowCmd;
        for (let i = 0; i < RUN_RUNS; i++) {
          const bare = await run(named(bareArgv), { env: daemonEnv, timeoutMs: TIMEOUT_MS, log: LOG });
          bareTimes.push(bare.ms);
          flowCmd = tool.runFlowArgv({ image, manifestPath: pair.codeOnly.manifestPath, name: `${CONTAINER_PREFIX}-${++containerCount}` });
          const flowRun = await run(flowCmd.argv, { env: flowCmd.env, timeoutMs: TIMEOUT_MS, log: LOG });
          flowTimes.push(flowRun.ms);
          output = parseResult(flowRun.stdout);
          if (output?.variant !== pair.codeOnly.variant) throw new Error(`the flow's result has variant ${JSON.stringify(output?.variant)}, expected ${pair.codeOnly.variant}: ${flowRun.stdout.slice(0, 300)}`);
        }
        entry.runs.push({ tool: tool.id, image, flowMs: flowTimes, bareMs: bareTimes, result: output });
        entry.summary[tool.id].run = { flow: stats(flowTimes), bare: stats(bareTimes), result: output };
        entry.summary[tool.id].commands = { run: shellQuote(flowCmd.argv), bare: shellQuote(bareArgv) };
        say(`${name} ${tool.id} run → result ${fmtMs(stats(flowTimes).median)} (bare docker run ${fmtMs(stats(bareTimes).median)})`);
      } catch (error) {
        entry.summary[tool.id].runError = error.message;
        notes.push(`${name}/${tool.id}: the image did not run the flow: ${error.message.split("\n")[0]}`);
        say(`${name} ${tool.id} run FAILED: ${error.message}`);
      }
    }

    // ---- limit ---------------------------------------------------------------------------------
    if (!args["no-limit"]) {
      for (const tool of tools) {
        const pair = last[tool.id];
        if (!pair) continue;
        try {
          const coldLayers = pair.cold.sizes.addedLayers;
          const coldDigests = new Set(pair.cold.layers.map((l) => l.digest));
          const changed = pair.codeOnly.sizes.addedLayers.filter((l) => !coldDigests.has(l.digest));
          entry.summary[tool.id].limit = {
            cold: await measureLimit({ registry: upstream, repository: pair.cold.repository, layers: coldLayers, workDir: WORK }),
            codeOnly: await measureLimit({ registry: upstream, repository: pair.codeOnly.repository, layers: changed, workDir: WORK }),
          };
        } catch (error) {
          entry.summary[tool.id].limitError = error.message;
        }
      }
    }

    // ---- summary -----------------------------------------------------------------------------------
    for (const tool of tools) {
      const s = entry.summary[tool.id];
      const steps = entry.steps.filter((st) => st.tool === tool.id && st.counted);
      for (const phase of ["cold", "codeOnly"]) {
        const ms = steps.filter((st) => st.phase === phase).map((st) => st.ms);
        if (ms.length) s[phase] = stats(ms);
      }
      if (steps.length) {
        const traffic = (phase, key) => stats(steps.filter((st) => st.phase === phase).map((st) => st.traffic[key]));
        s.requests = { cold: traffic("cold", "requests"), codeOnly: traffic("codeOnly", "requests") };
        s.roundTrips = { cold: traffic("cold", "roundTrips"), codeOnly: traffic("codeOnly", "roundTrips") };
        const split = (phase) => {
          const parts = steps.filter((st) => st.phase === phase && st.traffic.split).map((st) => st.traffic.split);
          return parts.length ? Object.fromEntries(["beforeFirstMs", "registryMs", "afterLastMs"].map((key) => [key, stats(parts.map((p) => p[key])).median])) : undefined;
        };
        if (tool.id.startsWith("flowpack-oci")) s.split = { cold: split("cold"), codeOnly: split("codeOnly") };
        s.uploaded = {
          cold: stats(steps.filter((st) => st.phase === "cold").map((st) => st.traffic.uploadBytes)),
          codeOnly: stats(steps.filter((st) => st.phase === "codeOnly").map((st) => st.traffic.uploadBytes)),
        };
        const pair = last[tool.id];
        if (pair) {
          s.image = { totalBytes: pair.codeOnly.sizes.totalBytes, addedBytes: pair.codeOnly.sizes.addedBytes, layers: pair.codeOnly.sizes.layers, addedLayers: pair.codeOnly.sizes.addedLayers.length };
          s.commands = { ...s.commands, cold: pair.cold.command, codeOnly: pair.codeOnly.command };
        }
      }
      s.version = versions[tool.id];
    }
    const oci = entry.summary["flowpack-oci"];
    for (const tool of tools) {
      for (const phase of ["cold", "codeOnly"]) {
        const s = entry.summary[tool.id][phase];
        if (s && oci?.[phase]) s.ratio = s.median / oci[phase].median;
      }
    }
  }

  // ---- fan-out (run --each) ------------------------------------------------------------------------
  if (!args["no-cluster"]) {
    // The services' dockerd is the manager of their two-node swarm, when they formed one.
    const swarmHost = services.FLOWPACK_TEST_SWARM_WORKER_HOST ? services.DOCKER_HOST : undefined;
    if (clusterInput) result.cluster = await measureCluster({ ...ctx, swarmHost }, { ...clusterInput, runs: 24, concurrency: 4, say, timeoutMs: TIMEOUT_MS });
    else notes.push("fan-out figures skipped: they need the hello workload built by flowpack-oci (--workloads hello --tools flowpack-oci).");
  }

  // ---- outputs ----------------------------------------------------------------------------------------
  result.targets = [...evaluateTargets(result.workloads, { registryDelayMs: REGISTRY_DELAY_MS }), ...(result.startup?.targets ?? []), ...(result.cluster?.targets ?? [])];
  result.machine.loadEnd = loadavg().map((l) => l.toFixed(2));
  result.finishedAt = new Date().toISOString();
  result.durationSeconds = Math.round((Date.now() - started.getTime()) / 1000);
  const base_ = resultsBase(outName, RESULTS);
  writeFileSync(`${base_}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base_}.md`, markdown(result) + (result.startup ? `\n${startupMarkdown(result.startup)}` : ""));
  writeFileSync(`${base_}.svg`, svg(result));
  say(`wrote ${base_}.{json,md,svg} (log: ${LOG}) in ${result.durationSeconds} s`);

  // the table, then the targets, on stdout
  for (const w of result.workloads) {
    process.stdout.write(`\n${w.name}\n`);
    for (const t of result.tools) {
      const s = w.summary[t.id];
      if (!s) continue;
      if (!s.cold) {
        process.stdout.write(`  ${t.id.padEnd(16)} failed: ${(s.error ?? "no data").split("\n")[0]}\n`);
        continue;
      }
      process.stdout.write(
        `  ${t.id.padEnd(16)} cold ${fmtMs(s.cold.median).padStart(8)}  code-only ${fmtMs(s.codeOnly?.median).padStart(8)} (${s.requests?.codeOnly?.median ?? "–"} requests, ${s.roundTrips?.codeOnly?.median ?? "–"} in a row)  up ${fmtBytes(s.uploaded.cold.median).padStart(9)} / ${fmtBytes(s.uploaded.codeOnly.median).padStart(9)}  image ${fmtBytes(s.image?.totalBytes).padStart(9)} (+${fmtBytes(s.image?.addedBytes)})  run ${fmtMs(s.run?.flow?.median)} (bare ${fmtMs(s.run?.bare?.median)})${s.watch ? `  --watch ${fmtMs(s.watch.median)}` : ""}\n`,
      );
    }
  }
  process.stdout.write(`\n${targetLines(result.targets).join("\n")}\n`);
  if (result.workloads.some((w) => Object.values(w.summary).some((s) => s.error || s.runError))) process.exitCode = 1;
}

/** The flow's result: the whole stdout as JSON (flowpack run pretty-prints), else its last line. */
function parseResult(stdout) {
  try {
    return JSON.parse(stdout);
  } catch {
    return JSON.parse(stdout.trim().split("\n").pop());
  }
}
