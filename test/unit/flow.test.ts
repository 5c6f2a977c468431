import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FLOW_BRAND, flow, isFlow } from "../../src/flow/flow.js";
import { createLogger } from "../../src/flow/logger.js";
import { slugify } from "../../src/flow/name.js";
import { InvalidFlowError, InvalidFlowNameError, ParameterValidationError } from "../../src/errors.js";

describe("flow()", () => {
  it("takes an explicit name and description", () => {
    const f = flow({ name: "etl.v2_nightly", description: "Nightly load" }, async () => 1);
    expect(f.name).toBe("etl.v2_nightly");
    expect(f.description).toBe("Nightly load");
  });

  it("derives the name from the function's name, slugified", () => {
    expect(flow({}, async function nightlyETLJob() {}).name).toBe("nightly-etl-job");
    expect(flow(async function loadRows() {}).name).toBe("load-rows");
  });

  it("rejects invalid names with a message that shows the rule", () => {
    expect(() => flow({ name: "Bad Name" }, async () => 0)).toThrowError(InvalidFlowNameError);
    expect(() => flow({ name: "Bad Name" }, async () => 0)).toThrowError(/lowercase letters, digits/);
    expect(() => flow({ name: "x".repeat(129) }, async () => 0)).toThrowError(/at most 128/);
    expect(() => flow({ name: "-leading" }, async () => 0)).toThrowError(InvalidFlowNameError);
  });

  it("asks for a name when the function has none", () => {
    expect(() => flow({}, (() => async () => 0)())).toThrowError(/flow name missing/);
  });

  it("exports the parameters as JSON Schema (draft 2020-12), defaults not required", () => {
    const f = flow(
      { name: "etl", parameters: z.object({ day: z.string(), limit: z.number().int().default(100) }) },
      async () => 0,
    );
    const schema = f.parameterSchema();
    expect(schema).toMatchObject({
      title: "Parameters",
      type: "object",
      $schema: "https://json-schema.org/draft/2020-12/schema",
      properties: { day: { type: "string" }, limit: { type: "integer", default: 100 } },
      required: ["day"],
    });
    // a copy: callers cannot mutate the flow's schema
    (schema.properties as Record<string, unknown>).day = 1;
    expect((f.parameterSchema().properties as Record<string, unknown>).day).toEqual({ type: "string" });
  });

  it("rejects parameter schemas that are not objects", () => {
    expect(() => flow({ name: "x", parameters: z.string() as never }, async () => 0)).toThrowError(InvalidFlowError);
  });

  it("validates parameters before the function runs and applies defaults", async () => {
    let calls = 0;
    const f = flow(
      { name: "etl", parameters: z.object({ day: z.string(), limit: z.number().int().default(100) }) },
      async (params) => {
        calls++;
        return params;
      },
    );
    await expect(f.run({ day: "2024-01-01" })).resolves.toEqual({ day: "2024-01-01", limit: 100 });
    const error = await f.run({ limit: 1.5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect((error as ParameterValidationError).issues.map((i) => i.path)).toEqual(["day", "limit"]);
    expect(calls).toBe(1);
  });

  it("gives the function a context with flow name, run id and a logger on stderr", async () => {
    const lines: string[] = [];
    const f = flow({ name: "ctx" }, async (_params, ctx) => {
      ctx.log.info("hello", { n: 1 });
      return { flowName: ctx.flowName, runId: ctx.runId };
    });
    const result = await f.run({}, { runId: "run-1", log: createLogger("ctx", (l) => lines.push(l)) });
    expect(result).toEqual({ flowName: "ctx", runId: "run-1" });
    expect(lines).toEqual(['INFO  ctx: hello {"n":1}']);
  });

  it("records the module that defined it", () => {
    const f = flow({ name: "here" }, async () => 0);
    expect(f.modulePath).toMatch(/test[\\/]unit[\\/]flow\.test\.ts$/);
  });

  it("is recognised structurally, not by instanceof (another flowpack copy's flow counts)", () => {
    const foreign = {
      [Symbol.for("flowpack.flow")]: 1,
      name: "foreign",
      run: async () => 0,
      parameterSchema: () => ({}),
      validateParameters: (v: unknown) => v,
    };
    expect(isFlow(foreign)).toBe(true);
    expect(isFlow({ ...foreign, [FLOW_BRAND]: 2 })).toBe(false);
    expect(isFlow({ name: "x" })).toBe(false);
    expect(isFlow(null)).toBe(false);
  });
});

describe("slugify", () => {
  it.each([
    ["nightlyEtl", "nightly-etl"],
    ["HTTPServer", "http-server"],
    ["My Flow!", "my-flow"],
    ["__init__", "init"],
    ["a..b", "a-b"],
  ])("%s → %s", (input, output) => {
    expect(slugify(input)).toBe(output);
  });
});
