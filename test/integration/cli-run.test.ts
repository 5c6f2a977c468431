import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack, runNode, type CliResult } from "../helpers/cli.js";
import { repoRoot } from "../helpers/paths.js";

// Everything lives in a folder with no package.json above it: the flows bundle this copy of
// flowpack, and zod by its absolute path.
const work = mkdtempSync(join(tmpdir(), "flowpack-cli-run-"));
const cacheDir = join(work, "user-cache");
const env = { FLOWPACK_CACHE_DIR: cacheDir, FLOWPACK_FLOW_LOCATION: "", FLOWPACK_FLOW_NAME: "", FLOWPACK_PARAMS: "" };
const zod = JSON.stringify(join(repoRoot, "node_modules", "zod", "index.js"));
const entry = join(work, "chatty.ts");
const bundled = join(work, "not", "yet", "there", "chatty.mjs");
const manifestPath = join(work, "manifests", "chatty.json");

/** The built in-image runner, as `docker run` would start it. */
function runner(args: string[], extraEnv: NodeJS.ProcessEnv): Promise<CliResult> {
  return runNode(join(bundled, "..", "runner.mjs"), args, {
    env: { ...env, FLOWPACK_FLOW_NAME: "chatty", FLOWPACK_FLOW_LOCATION: bundled, ...extraEnv },
  });
}

function dockerManifest(image: string): string {
  const file = join(work, `docker-${createHash("sha256").update(image).digest("hex").slice(0, 8)}.json`);
  const { flowParameterSchema } = JSON.parse(readFileSync(manifestPath, "utf8")) as { flowParameterSchema: unknown };
  writeFileSync(file, JSON.stringify({ type: "docker", manifestVersion: 1, flowName: "chatty", flowParameterSchema, image, imageFlowLocation: bundled }));
  return file;
}

describe("flowpack run and the in-image runner", () => {
  let bundle: CliResult;
  beforeAll(async () => {
    writeFileSync(
      entry,
      `import { flow } from "flowpack";
import { z } from ${zod};
export const chatty = flow({ name: "chatty", parameters: z.object({ n: z.number().default(1) }) }, async ({ n }) => {
  console.log("chatter on console.log");
  console.info("chatter on console.info");
  return { n };
});
`,
    );
    bundle = await flowpack(["--json", "bundle", entry, "-o", bundled, "--with-runner"], { env });
    const packaged = await flowpack(["package", entry, "--store", join(work, "store"), "-o", manifestPath], { env });
    expect(packaged.code).toBe(0);
  });

  it("bundle creates missing output folders and reports the digest of the bytes it wrote", () => {
    expect(bundle.stderr).toBe("");
    expect(bundle.code).toBe(0);
    expect(existsSync(`${bundled}.map`)).toBe(true);
    const written = readFileSync(bundled);
    expect(written.toString()).toMatch(/\/\/# sourceMappingURL=chatty\.mjs\.map\s*$/);
    expect(JSON.parse(bundle.stdout)).toMatchObject({ digest: `sha256:${createHash("sha256").update(written).digest("hex")}`, bytes: written.length });
  });

  it("the runner prints exactly the result on stdout; a flow's console.log goes to stderr", async () => {
    const r = await runner(["--param", "n=3"], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{\n  "n": 3\n}\n');
    expect(r.stderr).toContain("chatter on console.log");
    expect(r.stderr).toContain("chatter on console.info");
  });

  it("flowpack run prints exactly the result too, and from a folder without package.json leaves no files behind", async () => {
    const elsewhere = join(work, "elsewhere");
    mkdirSync(elsewhere);
    const r = await flowpack(["run", manifestPath, "-p", "n=4"], { cwd: elsewhere, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{\n  "n": 4\n}\n');
    expect(r.stderr).toContain("chatter on console.log");
    expect(readdirSync(elsewhere)).toEqual([]); // no ./node_modules/.cache
    expect(readdirSync(join(cacheDir, "bundles"))).toEqual([]); // the temporary bundle was removed
  });

  it("the runner rejects unknown parameters from --param, --params and FLOWPACK_PARAMS (exit 2, known ones listed)", async () => {
    for (const [args, extra] of [
      [["--param", "m=3"], {}],
      [["--params", '{"m":3}'], {}],
      [[], { FLOWPACK_PARAMS: '{"m":3}' }],
    ] as const) {
      const r = await runner([...args, "--json"], extra);
      expect(r.code, JSON.stringify(args)).toBe(2);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: "PARAMETERS_INVALID", issues: [{ path: "m", message: "unknown parameter; known parameters: n" }] });
    }
  });

  it("a malformed flowParameterSchema: exit 2 naming the manifest, not an internal error", async () => {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { flowParameterSchema: { properties: Record<string, unknown> } };
    manifest.flowParameterSchema.properties.n = { type: "strin" };
    const bad = join(work, "bad-schema.json");
    writeFileSync(bad, JSON.stringify(manifest));
    const r = await flowpack(["run", bad], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`flowpack: error: ${bad}: flowParameterSchema is not a usable JSON Schema`);
  });

  it("an output path that cannot be written: exit 2, the path and the reason, not an internal error", async () => {
    const aFile = join(work, "a-file");
    writeFileSync(aFile, "");
    const target = join(aFile, "m.json");
    const r = await flowpack(["package", entry, "--store", join(work, "store"), "-o", target], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`flowpack: error: cannot write the manifest at ${target}: not a directory (ENOTDIR)`);
    expect(r.stderr).not.toContain("internal error");
  });

  it("docker-only flags with the file packager, and --network on a local run, are refused", async () => {
    for (const [flag, value] of [["--builder", "oci"], ["--dependencies", "copy"], ["--image-flow-location", "/opt/f/flow.mjs"]] as const) {
      const r = await flowpack(["package", entry, "--store", join(work, "store"), flag, value], { env });
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toContain(`${flag} applies to --packager docker only`);
    }
    const r = await flowpack(["run", manifestPath, "--network", "none"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--network applies to runs in a container (--on docker) only");
  });

  it("--on local refuses a docker manifest whose image is not here, even when the host has a file at imageFlowLocation", async () => {
    const hint = "--on local runs a docker manifest only inside its image or from an OCI layout; use --on docker";
    for (const image of [`registry.example.com/flows/chatty:fp-1@sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`, `docker-archive:/tmp/x.tar@sha256:${"c".repeat(64)}`]) {
      const r = await flowpack(["run", dockerManifest(image), "--on", "local"], { env });
      expect(r.code, image).toBe(2);
      expect(r.stderr).toContain(`hint: ${hint}`);
      expect(r.stdout).toBe("");
    }
    // Inside an image (its runner's environment set) the flow file is the image's own: it runs.
    const inside = await flowpack(["run", dockerManifest(`sha256:${"b".repeat(64)}`), "--on", "local", "-p", "n=5"], { env: { ...env, FLOWPACK_FLOW_LOCATION: bundled } });
    expect(inside.code).toBe(0);
    expect(inside.stdout).toBe('{\n  "n": 5\n}\n');
  });
  it("--param __proto__=1 is refused by name (exit 2), not silently dropped", async () => {
    const r = await flowpack(["run", manifestPath, "--param", "__proto__=1"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"__proto__" is a reserved name and cannot be a parameter');
    expect(r.stdout).toBe("");
  });

  it("a registry image pinned by tag only is refused before anything starts, unless --allow-unpinned", async () => {
    const unpinned = dockerManifest("127.0.0.1:9/flows/chatty:fp-1");
    const r = await flowpack(["run", unpinned, "-p", "n=1"], { env: { ...env, DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flowpack: error: the manifest's image 127.0.0.1:9/flows/chatty:fp-1 is not pinned to a digest");
    expect(r.stderr).toContain("--allow-unpinned");
    // With the option it goes on to the daemon (here: none, so exit 3 for the infrastructure).
    const allowed = await flowpack(["run", unpinned, "-p", "n=1", "--allow-unpinned"], { env: { ...env, DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    expect(allowed.code).toBe(3);
    expect(allowed.stderr).not.toContain("not pinned");
  });

  it("a run in a container does not load node:crypto once its parameter validator is cached", async () => {
    // What a `--on docker` run loads before its first daemon request is start-up every run pays
    // (issue: a flow run costs no more than its container). The daemon is absent: the run goes as
    // far as a run does before the container exists, then fails with exit 3.
    const probe = join(work, "loaded-probe.cjs");
    writeFileSync(
      probe,
      `process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(process.moduleLoadList.filter((m) => m === "NativeModule crypto")) + "\\n"));\n`,
    );
    const manifest = dockerManifest(`127.0.0.1:9/flows/chatty@sha256:${"1".repeat(64)}`);
    const probeEnv = { ...env, FLOWPACK_CACHE_DIR: join(work, "probe-cache"), DOCKER_HOST: "unix:///nonexistent/docker.sock", NODE_OPTIONS: `--require ${probe}` };
    const loaded = (r: CliResult) => JSON.parse(/^LOADED (.*)$/m.exec(r.stderr)![1]!) as string[];
    // the first run compiles and caches the schema's validator (its write names temporary files with node:crypto)
    const first = await flowpack(["run", manifest, "-p", "n=1", "--on", "docker"], { env: probeEnv });
    expect(first.code, first.stderr).toBe(3);
    const again = await flowpack(["run", manifest, "-p", "n=1", "--on", "docker"], { env: probeEnv });
    expect(again.code, again.stderr).toBe(3);
    expect(loaded(again)).toEqual([]);
    // the probe does see it when it is loaded: a run in this process makes a run id with it
    expect(loaded(await flowpack(["run", manifestPath, "-p", "n=1", "--on", "local"], { env: probeEnv }))).toEqual(["NativeModule crypto"]);
  });

  it("an entry that throws on import, or defines a bad flow name, is reported against the user's file", async () => {
    const throwing = join(work, "throws-on-import.ts");
    writeFileSync(throwing, `import { flow } from "flowpack";\nthrow new Error("boom at import");\nexport const f = flow(async () => 1);\n`);
    const badName = join(work, "bad-name.ts");
    writeFileSync(badName, `import { flow } from "flowpack";\nexport const f = flow({ name: "Bad Name!" }, async () => 1);\n`);
    for (const [file, reason] of [[throwing, "boom at import"], [badName, 'invalid flow name "Bad Name!"']] as const) {
      const r = await flowpack(["package", file, "--store", join(work, "store"), "-o", join(work, "never.json")], { env, cwd: work });
      expect(r.code, file).toBe(2);
      expect(r.stderr).toContain(`flowpack: error: ${file.slice(work.length + 1)} failed while loading: ${reason}`);
      expect(r.stderr).not.toContain("bundle-");
    }
  });
});
