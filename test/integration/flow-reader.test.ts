import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flowpack } from "../helpers/cli.js";

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
