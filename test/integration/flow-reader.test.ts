import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flowpack } from "../helpers/cli.js";
import { services } from "../helpers/services.js";

// A one-shot `package` of the built CLI reads the flow's name and schema in a worker thread
// (src/flow/reader.ts). What the flow's module sees and does there, and what it cannot do.
const work = mkdtempSync(join(tmpdir(), "flowpack-reader-"));
const env = { FLOWPACK_CACHE_DIR: join(work, "cache") };

/** A flow module whose top level runs `atLoad`, then records what it saw in `<name>.seen`. */
function flowFile(name: string, atLoad: string): string {
  const file = join(work, `${name}.ts`);
  writeFileSync(
    file,
    `import { flow } from "flowpack";
import { isMainThread } from "node:worker_threads";
import { writeFileSync } from "node:fs";
${atLoad}
writeFileSync(${JSON.stringify(join(work, `${name}.seen`))}, JSON.stringify({ isMainThread, placeholder: process.env.FP_READER_PLACEHOLDER ?? null }));
export const f = flow({ name: ${JSON.stringify(name)} }, async () => 1);
`,
  );
  return file;
}

const seen = (name: string) => JSON.parse(readFileSync(join(work, `${name}.seen`), "utf8")) as { isMainThread: boolean; placeholder: string | null };
const pack = (file: string, ...args: string[]) => flowpack(["package", file, "--store", join(work, "store"), "-o", join(work, "out.json"), ...args], { env, cwd: work, timeoutMs: 60_000 });

describe("reading a flow in a thread while packaging", () => {
  it("the flow's module loads in a worker thread, with the --env placeholders in its environment", async () => {
    const r = await pack(flowFile("plain", ""), "--env", "FP_READER_PLACEHOLDER=given");
    expect(r.code, r.stderr).toBe(0);
    expect(seen("plain")).toEqual({ isMainThread: false, placeholder: "given" });
    expect(JSON.parse(readFileSync(join(work, "out.json"), "utf8"))).toMatchObject({ flowName: "plain", flowParameterSchema: { type: "object" } });
    expect(process.env.FP_READER_PLACEHOLDER).toBeUndefined();
  });

  it("a module that does what a thread cannot (process.chdir) is read in the main thread instead", async () => {
    const r = await pack(flowFile("chdir", "process.chdir(process.cwd());"));
    expect(r.code, r.stderr).toBe(0);
    expect(seen("chdir").isMainThread).toBe(true);
    expect(JSON.parse(readFileSync(join(work, "out.json"), "utf8"))).toMatchObject({ flowName: "chdir" });
  });

  it("a module that calls process.exit() when it loads: exit 2 naming the file, not flowpack gone silently", async () => {
    const r = await pack(flowFile("exits", "process.exit(7);"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flowpack: error: exits.ts stopped flowpack's loading thread while loading (exit code 7)");
    expect(r.stderr).toContain("must not call process.exit()");
  });

  it("a module that leaves a timer running does not keep flowpack from finishing", async () => {
    const r = await pack(flowFile("timer", "setInterval(() => undefined, 1000);"));
    expect(r.code, r.stderr).toBe(0);
    expect(seen("timer").isMainThread).toBe(false);
  });
});

describe("the vendor module the thread loads ahead of the bundle", () => {
  // A project whose flow takes its name from an installed package (vendored), and records which
  // thread loaded it. The Docker packager (oci builder) vendors packages; the file packager does not.
  const project = join(work, "vendored");
  mkdirSync(join(project, "node_modules", "name-pkg"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "vendored", version: "1.0.0", type: "module" }));
  writeFileSync(join(project, "node_modules", "name-pkg", "package.json"), JSON.stringify({ name: "name-pkg", version: "1.0.0", type: "module", exports: "./index.js" }));
  writeFileSync(join(project, "node_modules", "name-pkg", "index.js"), 'export const NAME = "right-name";\n');
  const cache = join(work, "vendored-cache");
  const flowSource = (variant: string) => `import { flow } from "flowpack";
import { NAME } from "name-pkg";
import { isMainThread } from "node:worker_threads";
import { writeFileSync } from "node:fs";
writeFileSync(${JSON.stringify(join(work, "vendored.seen"))}, JSON.stringify({ isMainThread, placeholder: null }));
export const f = flow({ name: NAME }, async () => ${JSON.stringify(variant)});
`;
  const temporaryFolders = () => readdirSync(join(project, "node_modules", ".cache", "flowpack")).filter((name) => name.startsWith("bundle-"));
  const packageVariant = async (variant: string, source = flowSource(variant)) => {
    writeFileSync(join(project, "flow.ts"), source);
    const out = join(work, `vendored-${variant}.json`);
    const r = await flowpack(["package", "flow.ts", "--packager", "docker", "--builder", "oci", "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`, "--oci-layout", join(work, "vendored-layout"), "-o", out, "-q"], {
      env: { FLOWPACK_CACHE_DIR: cache },
      cwd: project,
      timeoutMs: 60_000,
    });
    expect(temporaryFolders()).toEqual([]); // the thread's (with its copy of the vendor module) included
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(readFileSync(out, "utf8")) as { flowName: string; metadata: { layers: { vendor?: string } } };
  };

  it("is read from the cache and checked there: a damaged cached module is never what the flow is read from", async () => {
    const first = await packageVariant("one");
    expect(first.flowName).toBe("right-name");
    const second = await packageVariant("two"); // the cached module, preloaded in the thread
    expect(second.flowName).toBe("right-name");
    expect(seen("vendored").isMainThread).toBe(false);
    expect(second.metadata.layers.vendor).toBe(first.metadata.layers.vendor);

    // Same length, other bytes: the record still vouches for the old digest.
    const modules = join(cache, "vendor", "modules");
    for (const dir of readdirSync(modules)) {
      const file = join(modules, dir, "flowpack-vendor.mjs");
      writeFileSync(file, readFileSync(file, "utf8").replace("right-name", "wrong-name"));
    }
    const third = await packageVariant("three");
    expect(third.flowName).toBe("right-name");
    expect(seen("vendored").isMainThread).toBe(true); // the thread refused the damaged files; this thread read the flow
    expect(third.metadata.layers.vendor).toBe(first.metadata.layers.vendor); // rebuilt, the same module
  });

  it("a bundling that fails after the thread began loading the cached module leaves nothing behind", async () => {
    await packageVariant("before");
    writeFileSync(join(project, "flow.ts"), `${flowSource("broken")}\nexport const = ;\n`);
    const r = await flowpack(["package", "flow.ts", "--packager", "docker", "--builder", "oci", "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`, "--oci-layout", join(work, "vendored-layout"), "-q"], {
      env: { FLOWPACK_CACHE_DIR: cache },
      cwd: project,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot bundle flow.ts");
    expect(temporaryFolders()).toEqual([]);
  });
});
