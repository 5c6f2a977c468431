import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { FlowRunError, ParameterValidationError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import { runFlow } from "../../src/run/local.js";
import { repoRoot } from "../helpers/paths.js";

async function failure(promise: Promise<unknown>): Promise<Error & { exitCode?: number; issues?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

const etl = flow(
  { name: "etl", parameters: z.object({ day: z.string(), limit: z.number().int().default(5) }) },
  async ({ day, limit }) => ({ day, limit }),
);

describe("runFlow parameters", () => {
  it("rejects unknown parameters, listing the known ones (zod would strip them silently)", async () => {
    const error = await failure(runFlow(etl, { day: "d", limt: 3 }));
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(error.exitCode).toBe(2);
    expect(error.issues).toEqual([{ path: "limt", message: "unknown parameter; known parameters: day, limit" }]);
  });

  it("reports unknown and invalid parameters together", async () => {
    const error = await failure(runFlow(etl, { limt: 3 }));
    expect(error.issues).toEqual([
      { path: "limt", message: "unknown parameter; known parameters: day, limit" },
      { path: "day", message: expect.any(String) },
    ]);
  });

  it("accepts extra keys when the schema allows them", async () => {
    const loose = flow({ name: "loose", parameters: z.looseObject({ a: z.string() }) }, async (p) => p);
    await expect(runFlow(loose, { a: "x", b: 1 })).resolves.toMatchObject({ result: { a: "x", b: 1 } });
  });

  it("validates once: a transform runs a single time", async () => {
    const seen = vi.fn((s: string) => s.toUpperCase());
    const shout = flow({ name: "shout", parameters: z.object({ s: z.string().transform(seen) }) }, async ({ s }) => s);
    await expect(runFlow(shout, { s: "hi" })).resolves.toMatchObject({ flowName: "shout", status: "completed", result: "HI" });
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it("passes the run ID to the flow's context", async () => {
    const who = flow({ name: "who" }, async (_p, ctx) => ({ name: ctx.flowName, runId: ctx.runId }));
    await expect(runFlow(who, {}, "run-1")).resolves.toMatchObject({ runId: "run-1", result: { name: "who", runId: "run-1" } });
  });
});

describe("runFlow failures", () => {
  it("a nested flow's invalid parameters are the outer flow failing (exit 1), not bad input", async () => {
    const outer = flow({ name: "outer" }, async () => etl.run({ day: 42 }));
    const error = await failure(runFlow(outer, {}));
    expect(error).toBeInstanceOf(FlowRunError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^flow "outer" failed: ParameterValidationError: invalid parameters for flow "etl": day: /);
  });

  it("a synchronous throw is a FlowRunError too, named by the error's class", async () => {
    const sync = flow({ name: "sync" }, () => {
      throw new TypeError("nope");
    });
    const error = (await failure(runFlow(sync, {}))) as FlowRunError;
    expect(error).toBeInstanceOf(FlowRunError);
    expect(error.message).toBe('flow "sync" failed: TypeError: nope');
  });
});

describe("runFlow keeps stdout for the result", () => {
  afterEach(() => vi.restoreAllMocks());

  it("console.log/info/debug inside a flow go to console.error (stderr), and are restored afterwards (also on error)", async () => {
    const stdout = (["log", "info", "debug"] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => undefined));
    const stderr = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const before = [console.log, console.info, console.debug];
    const chatty = flow({ name: "chatty" }, async () => {
      console.log("log line");
      console.info("info line");
      console.debug("debug line");
      return 1;
    });
    const failing = flow({ name: "failing" }, async () => {
      console.log("before failing");
      throw new Error("boom");
    });
    await runFlow(chatty, {});
    await expect(runFlow(failing, {})).rejects.toThrowError(FlowRunError);
    for (const spy of stdout) expect(spy).not.toHaveBeenCalled();
    expect(stderr.mock.calls).toEqual([["log line"], ["info line"], ["debug line"], ["before failing"]]);
    expect([console.log, console.info, console.debug]).toEqual(before);
  });
});

describe("layering", () => {
  it("the runners never import the CLI", () => {
    const dir = join(repoRoot, "src", "run");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      expect(readFileSync(join(dir, file), "utf8"), file).not.toMatch(/from "\.\.\/cli\//);
    }
  });
});
