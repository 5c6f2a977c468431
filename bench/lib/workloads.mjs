// Workloads: installed once from their committed lockfiles (npm ci, cached by lockfile), then
// copied per tool so that each tool builds from its own tree; the code-only change edits the copy.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { run } from "./proc.mjs";

export const WORKLOADS = {
  hello: { flowName: "bench-hello", description: "one file, no dependencies beyond zod" },
  service: { flowName: "bench-service", description: "5 local modules + 13 pure-JS dependencies (aws-sdk S3, express, axios, lodash, date-fns, rxjs, …)" },
  native: { flowName: "bench-native", description: "better-sqlite3 (native addon, built from source by node-gyp)" },
};

/** The one line the code-only change rewrites. */
const VARIANT_LINE = /^const VARIANT = .*;.*$/m;

export function setVariant(dir, variant) {
  const file = join(dir, "flow.mjs");
  const text = readFileSync(file, "utf8");
  if (!VARIANT_LINE.test(text)) throw new Error(`${file} has no "const VARIANT = …;" line`);
  writeFileSync(file, text.replace(VARIANT_LINE, `const VARIANT = ${JSON.stringify(variant)}; // the benchmark's code-only change rewrites this one line`));
}

function fingerprint(sourceDir) {
  const hash = createHash("sha256");
  for (const name of ["package.json", "package-lock.json"]) hash.update(readFileSync(join(sourceDir, name)));
  hash.update(process.version);
  return hash.digest("hex");
}

/** `npm ci` into workDir/install/<name>, skipped when the lockfile and node are unchanged. */
export async function install({ name, sourceDir, workDir, log, timeoutMs }) {
  const dir = join(workDir, "install", name);
  const stamp = join(dir, ".bench-installed");
  const want = fingerprint(sourceDir);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want && existsSync(join(dir, "node_modules"))) {
    return { dir, ms: 0, cached: true };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of ["package.json", "package-lock.json"]) cpSync(join(sourceDir, name), join(dir, name));
  const result = await run(["npm", "ci", "--no-audit", "--no-fund", "--omit=dev"], { cwd: dir, timeoutMs, log });
  writeFileSync(stamp, want);
  return { dir, ms: result.ms, cached: false };
}

/** Bytes and files under a directory (not following links). */
export function treeSize(dir) {
  let bytes = 0;
  let files = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        files++;
        bytes += statSync(p).size;
      } else files++;
    }
  };
  if (existsSync(dir)) walk(dir);
  return { bytes, files };
}

/**
 * A fresh copy of the workload for one tool: the sources (never the committed tree itself) plus
 * the installed node_modules. `extra(dir)` adds tool-specific files.
 */
export async function makeCopy({ sourceDir, installDir, dir, log, timeoutMs }) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(sourceDir)) {
    if (entry === "node_modules" || entry === ".flowpack") continue;
    cpSync(join(sourceDir, entry), join(dir, entry), { recursive: true });
  }
  // cp -a keeps links and modes exactly as npm left them, and is much faster than cpSync here
  await run(["cp", "-a", join(installDir, "node_modules"), join(dir, "node_modules")], { timeoutMs, log });
  return dir;
}

/**
 * For the tools that run the flow module as-is (no bundler), `import { flow } from "flowpack"`
 * must resolve at run time, as it would for a user whose project depends on flowpack. flowpack is
 * not published, so the harness writes node_modules/flowpack: this checkout's `flow` API bundled
 * into one ES module (zod left to the project's own copy), i.e. what an installed flowpack would
 * provide to the flow, at a fraction of its size.
 */
export async function writeFlowpackStandIn({ dir, repoRoot }) {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    stdin: { contents: `export { flow, isFlow } from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};`, resolveDir: repoRoot, loader: "js" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    write: false,
    outfile: "index.mjs",
    logLevel: "silent",
  });
  const target = join(dir, "node_modules", "flowpack");
  mkdirSync(target, { recursive: true });
  const version = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version;
  writeFileSync(join(target, "package.json"), `${JSON.stringify({ name: "flowpack", version, type: "module", main: "index.mjs", exports: { ".": "./index.mjs" }, dependencies: { zod: "*" } }, null, 2)}\n`);
  writeFileSync(join(target, "index.mjs"), result.outputFiles[0].contents);
}

/**
 * The hand-written Dockerfile a user would write for this project (Prefect-style: the project and
 * its node_modules copied onto the base image; dependencies before sources so that a code-only
 * change rebuilds only the last layers).
 */
export function writeDockerfile({ dir, baseImage }) {
  const sources = readdirSync(dir).filter((e) => !["node_modules", "package.json", "package-lock.json", "Dockerfile", ".dockerignore"].includes(e)).sort();
  const dirs = sources.filter((e) => lstatSync(join(dir, e)).isDirectory());
  const files = sources.filter((e) => !dirs.includes(e));
  const lines = [
    `FROM ${baseImage}`,
    "ENV NODE_ENV=production",
    "WORKDIR /app",
    "COPY package.json package-lock.json ./",
    "COPY node_modules/ ./node_modules/",
    ...dirs.map((d) => `COPY ${d}/ ./${d}/`),
    `COPY ${files.join(" ")} ./`,
    "USER node",
    'CMD ["node", "run.mjs"]',
  ];
  const text = `${lines.join("\n")}\n`;
  writeFileSync(join(dir, "Dockerfile"), text);
  writeFileSync(join(dir, ".dockerignore"), "Dockerfile\n.dockerignore\n.flowpack\n");
  return text;
}
