// Summaries, targets, and the three outputs: JSON (everything), markdown (tables), SVG (chart).
import { dirname, join, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { clusterMarkdown } from "./cluster.mjs";

/**
 * Where results named `name` go, without extension, its folder made: a name goes to `resultsDir`
 * (bench/results); a path (with a slash) is taken as it is, relative to the working folder.
 */
export function resultsBase(name, resultsDir) {
  const base = name.includes("/") ? resolve(name) : join(resultsDir, name);
  mkdirSync(dirname(base), { recursive: true });
  return base;
}

export function stats(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

export const fmtMs = (ms) => (ms === undefined || ms === null ? "–" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);
export const fmtBytes = (b) => {
  if (b === undefined || b === null) return "–";
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
};
const fmtRatio = (r) => (r === undefined || r === null || !Number.isFinite(r) ? "–" : `${r.toFixed(r < 10 ? 2 : 1)}×`);
const fmtStat = (s) => (s ? `${fmtMs(s.median)} (${fmtMs(s.min)}–${fmtMs(s.max)})` : "–");

/**
 * The issue's targets, per workload. Each: { id, workload, text, pass: true|false|null, detail }.
 * null = cannot be judged (a tool missing or failed).
 */
export function evaluateTargets(workloads, { registryDelayMs = 0 } = {}) {
  if (registryDelayMs > 0) return remoteTargets(workloads, registryDelayMs);
  const targets = [];
  for (const w of workloads) {
    const s = w.summary;
    const oci = s["flowpack-oci"];
    const add = (id, text, pass, detail) => targets.push({ id, workload: w.name, text, pass, detail });
    const why = (tool) => (s[tool]?.error ? `${tool} failed on this workload (see its row)` : `no ${tool} figures (not run)`);
    const speed = (id, text, phase, other, factor) => {
      const a = oci?.[phase]?.median;
      const b = s[other]?.[phase]?.median;
      if (a === undefined || b === undefined) return add(id, text, null, why(a === undefined ? "flowpack-oci" : other));
      const ratio = b / a;
      add(id, text, ratio >= factor, `${fmtMs(a)} vs ${fmtMs(b)} = ${fmtRatio(ratio)} (need ≥ ${factor}×)`);
    };
    const under = (id, text, ms, limit) =>
      ms === undefined ? add(id, text, null, why("flowpack-oci")) : add(id, text, ms <= limit, `${fmtMs(ms)} (need ≤ ${fmtMs(limit)})`);
    // Issue 4: well under a second, and ≥ 5× the engine builder; one-shot and --watch.
    // Issue 13: one-shot code-only package+push ≤ 0.3 s for hello, ≤ 0.6 s for service.
    const oneShot = { hello: 300, service: 600 }[w.name];
    if (oneShot !== undefined) {
      under("codeonly-oneshot", `one-shot code-only package+push in a fresh process (CI, no terminal, FLOWPACK_WARM=0): flowpack oci ≤ ${fmtMs(oneShot)} (issue 13)`, oci?.codeOnly?.median, oneShot);
      // Where the time went (medians of the code-only runs, cut where the registry saw them).
      const split = oci?.split?.codeOnly;
      const last = targets.at(-1);
      if (split && last.pass === false) {
        last.detail += ` — spawn → first registry request ${fmtMs(split.beforeFirstMs)} (Node and the CLI starting, bundling: the upload sessions open once the code is bundled), first request → last answer ${fmtMs(split.registryMs)} (reading the flow's name and schema, planning, the push: ${oci.roundTrips?.codeOnly?.median ?? "–"} requests in a row), last answer → exit ${fmtMs(split.afterLastMs)}; a profile of each part: README "Performance", fifth pass`;
      }
    }
    if (oneShot !== undefined) {
      // The same at a terminal, where warm processes are the default (FLOWPACK_WARM=1 in the bench):
      // each build handed to the warm process the previous one left.
      const warm = s["flowpack-oci-warm"];
      const text = `one-shot code-only package+push at a terminal (warm processes, the default there; FLOWPACK_WARM=1 here: built in the warm process the previous package left): flowpack oci ≤ ${fmtMs(oneShot)} (issue 13)`;
      if (warm?.codeOnly?.median === undefined) add("codeonly-oneshot-warm", text, null, why("flowpack-oci-warm"));
      else {
        const split = warm.split?.codeOnly;
        add("codeonly-oneshot-warm", text, warm.codeOnly.median <= oneShot, `${fmtMs(warm.codeOnly.median)} (need ≤ ${fmtMs(oneShot)})${split ? `; spawn → first registry request ${fmtMs(split.beforeFirstMs)}, → last answer ${fmtMs(split.registryMs)}, → exit ${fmtMs(split.afterLastMs)}` : ""}`);
      }
    }
    under("codeonly-under-half-second", "code-only rebuild+push: flowpack oci well under a second (≤ 0.5 s)", oci?.codeOnly?.median, 500);
    speed("codeonly-vs-engine", "code-only rebuild+push: flowpack oci ≥ 5× faster than flowpack --builder docker", "codeOnly", "flowpack-docker", 5);
    under("watch-under-half-second", "--watch, save → pushed: flowpack oci well under a second (≤ 0.5 s)", oci?.watch?.median, 500);
    speed("watch-vs-engine", "--watch, save → pushed: flowpack oci ≥ 5× faster than flowpack --builder docker --watch", "watch", "flowpack-docker", 5);
    speed("codeonly-vs-dockerfile", "code-only rebuild+push: flowpack oci ≥ 5× faster than the Dockerfile recipe", "codeOnly", "dockerfile", 5);
    speed("codeonly-vs-containerify", "code-only rebuild+push: flowpack oci ≥ 1.5× faster than containerify", "codeOnly", "containerify", 1.5);
    speed("cold-vs-dockerfile", "cold build+push: flowpack oci ≥ 2× faster than the Dockerfile recipe", "cold", "dockerfile", 2);
    {
      const a = oci?.image?.addedBytes;
      const b = s.containerify?.image?.addedBytes;
      const text = "image bytes added on top of the base: flowpack oci ≤ containerify";
      if (a === undefined || b === undefined) add("added-vs-containerify", text, null, why(a === undefined ? "flowpack-oci" : "containerify"));
      else add("added-vs-containerify", text, a <= b, `${fmtBytes(a)} vs ${fmtBytes(b)}`);
    }
    {
      const a = oci?.uploaded?.codeOnly?.median;
      const g = w.bundle?.gzipBytes;
      const text = "bytes uploaded on a code-only change (flowpack oci) ≤ 2× the gzipped bundle";
      if (a === undefined || g === undefined) add("codeonly-upload-vs-bundle", text, null, a === undefined ? why("flowpack-oci") : "no bundle size");
      else add("codeonly-upload-vs-bundle", text, a <= 2 * g, `${fmtBytes(a)} uploaded vs 2 × ${fmtBytes(g)} = ${fmtBytes(2 * g)}`);
    }
  }
  return targets;
}

/**
 * Issue 13's "remote registry" targets (every request delayed): a code-only oci push needs ≤ 3
 * round trips on its critical path and is ≥ 3× faster than the Dockerfile recipe and containerify.
 */
function remoteTargets(workloads, delayMs) {
  const targets = [];
  for (const w of workloads) {
    const s = w.summary;
    const oci = s["flowpack-oci"];
    const add = (id, text, pass, detail) => targets.push({ id, workload: w.name, text, pass, detail });
    const trips = oci?.roundTrips?.codeOnly?.median;
    const text = `remote registry (${delayMs} ms a request): code-only oci package+push ≤ 3 round trips on the critical path`;
    if (trips === undefined) add("remote-codeonly-round-trips", text, null, "no flowpack-oci figures");
    else add("remote-codeonly-round-trips", text, trips <= 3, `${trips} round trips, ${oci.requests?.codeOnly?.median} requests`);
    // flowpack oci in a fresh process, and warm (the default at a terminal: built in the warm process the previous package left)
    for (const [tool, label, suffix] of [["flowpack-oci", "flowpack oci (a fresh process)", ""], ["flowpack-oci-warm", "flowpack oci warm (at a terminal)", "-warm"]]) {
      for (const other of ["dockerfile", "containerify"]) {
        const a = s[tool]?.codeOnly?.median;
        const b = s[other]?.codeOnly?.median;
        const t = `remote registry (${delayMs} ms a request): code-only rebuild+push, ${label} ≥ 3× faster than ${other === "dockerfile" ? "the Dockerfile recipe" : "containerify"}`;
        if (a === undefined || b === undefined) add(`remote-codeonly${suffix}-vs-${other}`, t, null, `no ${a === undefined ? tool : other} figures`);
        else add(`remote-codeonly${suffix}-vs-${other}`, t, b / a >= 3, `${fmtMs(a)} vs ${fmtMs(b)} = ${fmtRatio(b / a)} (need ≥ 3×; ${other}: ${s[other].roundTrips?.codeOnly?.median} round trips, ${s[other].requests?.codeOnly?.median} requests)`);
      }
    }
  }
  return targets;
}

export function targetLines(targets) {
  return targets.map((t) => `${t.pass === null ? "SKIP" : t.pass ? "PASS" : "FAIL"}  [${t.workload}] ${t.text}: ${t.detail}`);
}

export function markdown(result) {
  const lines = [];
  const o = result.options;
  lines.push(`# flowpack benchmark — ${result.date}`, "");
  lines.push(`Command: \`${result.command}\` (${o.runs} counted run${o.runs === 1 ? "" : "s"} after ${o.warmup} warm-up per tool × workload, tools in alternation; run checks: ${o.runRuns} each).`, "");
  lines.push(`Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memGiB} GiB, ${result.machine.os}, node ${result.machine.node}; load average at start ${result.machine.loadStart.join(" ")}, at end ${result.machine.loadEnd?.join(" ") ?? "–"}.`);
  lines.push(`Services: Docker Engine ${result.versions.raw.docker} (storage driver ${result.versions.raw.storageDriver}), registry ${result.services.registry} (distribution, plain http, loopback) behind the harness's counting proxy; base image ${result.services.baseImage}@${result.services.baseDigest} (= \`${result.services.baseLocal}\` in the daemon, ${fmtBytes(result.services.baseBytes)} compressed).`, "");
  lines.push("**Cold** — " + result.definitions.cold, "");
  lines.push("**Code-only** — " + result.definitions.codeOnly, "");
  lines.push("**Limit** — " + result.definitions.limit, "");
  lines.push("**Run** — " + result.definitions.run, "");
  if (result.notes.length) {
    lines.push("**Notes**", "", ...result.notes.map((n) => `- ${n}`), "");
  }
  lines.push("## Targets", "", "```", ...targetLines(result.targets), "```", "");
  for (const w of result.workloads) {
    lines.push(`## ${w.name}: ${w.description}`, "");
    lines.push(`node_modules: ${fmtBytes(w.nodeModules.bytes)} in ${w.nodeModules.files} files · flowpack bundle: ${fmtBytes(w.bundle?.bytes)} (${fmtBytes(w.bundle?.gzipBytes)} gzipped)${w.bundle?.externals?.length ? ` · externals: ${w.bundle.externals.join(", ")}` : ""}`, "");
    lines.push("| tool | version | cold build+push median (min–max) | × oci | code-only median (min–max) | × oci | uploaded cold | uploaded code-only | image (compressed) | added on base | limit cold / code-only | run → result | bare `docker run` |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const tool of result.tools) {
      const s = w.summary[tool.id];
      if (!s) continue;
      if (s.error && !s.cold) {
        lines.push(`| ${tool.label} | ${tool.version} | failed: ${s.error.replace(/\|/g, "\\|").split("\n")[0]} | | | | | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${tool.label} | ${tool.version} | ${fmtStat(s.cold)} | ${fmtRatio(s.cold?.ratio)} | ${fmtStat(s.codeOnly)} | ${fmtRatio(s.codeOnly?.ratio)} | ${fmtBytes(s.uploaded?.cold?.median)} | ${fmtBytes(s.uploaded?.codeOnly?.median)} | ${fmtBytes(s.image?.totalBytes)} | ${fmtBytes(s.image?.addedBytes)} | ${fmtMs(s.limit?.cold?.ms)} / ${fmtMs(s.limit?.codeOnly?.ms)} | ${fmtMs(s.run?.flow?.median)} | ${fmtMs(s.run?.bare?.median)} |`,
      );
    }
    lines.push("");
    lines.push(`Registry requests per build+push, counted at the proxy${result.options.registryDelayMs ? ` (each delayed ${result.options.registryDelayMs} ms)` : ""}: all of them, and the round trips on the critical path (the longest chain of requests each started after the previous one was answered), medians:`, "");
    lines.push("| tool | cold: requests | cold: round trips | code-only: requests | code-only: round trips |", "|---|---|---|---|---|");
    for (const tool of result.tools) {
      const s = w.summary[tool.id];
      if (!s?.requests) continue;
      lines.push(`| ${tool.label} | ${s.requests.cold?.median ?? "–"} | ${s.roundTrips?.cold?.median ?? "–"} | ${s.requests.codeOnly?.median ?? "–"} | ${s.roundTrips?.codeOnly?.median ?? "–"} |`);
    }
    lines.push("");
    const watched = result.tools.filter((t) => w.summary[t.id]?.watch || w.summary[t.id]?.watchError);
    if (watched.length) {
      const oci = w.summary["flowpack-oci"]?.watch;
      lines.push("`flowpack package --watch` (one process; the same one-line change saved repeatedly):", "");
      lines.push("| tool | save → pushed, median (min–max) | × oci | first build | uploaded per save |", "|---|---|---|---|---|");
      for (const tool of watched) {
        const s = w.summary[tool.id];
        if (!s.watch) {
          lines.push(`| ${tool.label} --watch | failed: ${s.watchError.replace(/\|/g, "\\|").split("\n")[0]} | | | |`);
          continue;
        }
        lines.push(`| ${tool.label} --watch | ${fmtStat(s.watch)} | ${fmtRatio(oci ? s.watch.median / oci.median : undefined)} | ${fmtMs(s.watch.firstMs)} | ${fmtBytes(s.watch.uploaded?.median)} |`);
      }
      lines.push("");
    }
    const failed = result.tools.filter((t) => w.summary[t.id]?.error);
    for (const t of failed) lines.push(`- ${t.label}: ${w.summary[t.id].error.split("\n")[0]}`);
    if (failed.length) lines.push("");
    lines.push("<details><summary>exact commands (last counted run)</summary>", "");
    for (const tool of result.tools) {
      const s = w.summary[tool.id];
      if (!s?.commands) continue;
      lines.push(`- ${tool.label}, cold: \`${s.commands.cold}\``, `- ${tool.label}, code-only: \`${s.commands.codeOnly}\``);
      if (s.commands.run) lines.push(`- ${tool.label}, run: \`${s.commands.run}\` vs bare: \`${s.commands.bare}\``);
      if (s.watch?.command) lines.push(`- ${tool.label}, --watch: \`${s.watch.command}\``);
    }
    lines.push("", "</details>", "");
  }
  if (result.cluster) lines.push(...clusterMarkdown(result.cluster, fmtMs));
  lines.push("Columns: *× oci* = this tool's median ÷ flowpack oci's median (higher = slower than flowpack oci). *uploaded* = request-body bytes of blob uploads (POST/PATCH/PUT to /v2/…/blobs/) counted at the proxy, median per build. *image* = sum of the compressed layer sizes in the registry manifest; *added on base* = the layers whose diffID is not in the base image. *limit* = read + gzip + sha256 of the same layer bytes once in-process (cold: all added layers; code-only: the layers that changed). *run → result* = wall time of the command that runs the flow in a container and prints its result; *bare* = `docker run --rm --network none --entrypoint node IMAGE -e 0` on the same image.");
  lines.push("");
  return lines.join("\n");
}

const COLORS = { "flowpack-oci": "#1b7f3b", "flowpack-oci-warm": "#0b4f23", "flowpack-docker": "#6fbf73", dockerfile: "#2f6db5", containerify: "#d9822b" };
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Simple horizontal bars: per workload, three panels (cold time, code-only time, bytes added on
 * top of the base), each on its own scale, every bar labelled with its value.
 */
export function svg(result) {
  const tools = result.tools.filter((t) => result.workloads.some((w) => w.summary[t.id]?.cold));
  const panels = [
    { key: "cold", title: "cold build+push", value: (s) => s?.cold?.median, label: (s, t) => fmtMs(s.cold.median) + (t.id !== "flowpack-oci" && Number.isFinite(s.cold.ratio) ? ` (${fmtRatio(s.cold.ratio)})` : "") },
    { key: "codeOnly", title: "code-only rebuild+push", value: (s) => s?.codeOnly?.median, label: (s, t) => fmtMs(s.codeOnly.median) + (t.id !== "flowpack-oci" && Number.isFinite(s.codeOnly.ratio) ? ` (${fmtRatio(s.codeOnly.ratio)})` : "") },
    { key: "added", title: "image bytes added on the base", value: (s) => s?.image?.addedBytes, label: (s) => fmtBytes(s.image.addedBytes) },
  ];
  const barH = 18;
  const gap = 6;
  const labelW = 200;
  const panelW = 440;
  const barMax = panelW - labelW - 105;
  const panelH = 34 + tools.length * (barH + gap);
  const top = 70;
  const width = 20 + panels.length * (panelW + 16);
  const height = top + result.workloads.length * (panelH + 16) + 50;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="20" y="28" font-size="17" font-weight="bold">flowpack vs the alternatives: build + push a flow image to a local registry</text>`);
  out.push(`<text x="20" y="50" fill="#555">${esc(`${result.date} · median of ${result.options.runs} counted run${result.options.runs === 1 ? "" : "s"} · ${result.machine.cpus} cores · Docker storage driver ${result.versions.raw.storageDriver} · shorter is better · (×) = time ÷ flowpack oci's`)}</text>`);
  result.workloads.forEach((w, wi) => {
    panels.forEach((panel, pi) => {
      const x0 = 20 + pi * (panelW + 16);
      const y0 = top + wi * (panelH + 16);
      out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="#f6f7f9" stroke="#d8dce2" rx="4"/>`);
      out.push(`<text x="${x0 + 10}" y="${y0 + 20}" font-weight="bold">${esc(`${w.name} — ${panel.title}`)}</text>`);
      const values = tools.map((t) => panel.value(w.summary[t.id])).filter((v) => v !== undefined);
      const max = Math.max(...values, 1);
      tools.forEach((t, ti) => {
        const y = y0 + 32 + ti * (barH + gap);
        const s = w.summary[t.id];
        out.push(`<text x="${x0 + labelW - 8}" y="${y + barH - 5}" text-anchor="end">${esc(t.label)}</text>`);
        const v = panel.value(s);
        if (v === undefined) {
          out.push(`<text x="${x0 + labelW}" y="${y + barH - 5}" fill="#999">${esc(s?.error ? "failed" : "not run")}</text>`);
          return;
        }
        const len = Math.max(2, (v / max) * barMax);
        out.push(`<rect x="${x0 + labelW}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${COLORS[t.id] ?? "#888"}" rx="2"/>`);
        out.push(`<text x="${(x0 + labelW + len + 6).toFixed(1)}" y="${y + barH - 5}">${esc(panel.label(s, t))}</text>`);
      });
    });
  });
  out.push(`<text x="20" y="${height - 30}" fill="#555">${esc("Each panel has its own scale. Cold = first push into a fresh repository on a registry endpoint new to the tool, local caches warm;")}</text>`);
  out.push(`<text x="20" y="${height - 14}" fill="#555">${esc("code-only = a one-line change to the flow, rebuilt and pushed into the same repository. Details, bytes uploaded and run times: the .md and .json beside this file.")}</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
