import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ManifestError, ParameterValidationError, UsageError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import { coerce, parseParamPairs, parseParamsOption, resolveParameters, unknownParameterIssues } from "../../src/run/parameters.js";
import { validateAgainstSchema } from "../../src/run/validate.js";

const schema = flow(
  {
    name: "p",
    parameters: z.object({
      day: z.string(),
      limit: z.number().int().default(5),
      ratio: z.number().optional(),
      dry: z.boolean().default(false),
      tags: z.array(z.string()).default([]),
      mode: z.enum(["full", "delta"]).default("full"),
      note: z.string().nullable().optional(),
    }),
  },
  async () => 0,
).parameterSchema();

describe("--param coercion by schema", () => {
  it("coerces each value to its property's type", () => {
    expect(
      parseParamPairs(["day=2024-01-01", "limit=7", "ratio=0.5", "dry=true", 'tags=["a","b"]', "mode=delta", "note=null"], schema),
    ).toEqual({ day: "2024-01-01", limit: 7, ratio: 0.5, dry: true, tags: ["a", "b"], mode: "delta", note: null });
  });

  it("keeps strings that look like numbers as strings where the schema says string", () => {
    expect(parseParamPairs(["day=20240101"], schema)).toEqual({ day: "20240101" });
  });

  it("leaves values it cannot coerce for validation to report", () => {
    expect(coerce("many", { type: "integer" })).toBe("many");
    expect(coerce("perhaps", { type: "boolean" })).toBe("perhaps");
  });

  it("a value may contain '='", () => {
    expect(parseParamPairs(["day=a=b"], schema)).toEqual({ day: "a=b" });
  });

  it("rejects a pair without '='", () => {
    expect(() => parseParamPairs(["day"], schema)).toThrowError(UsageError);
  });

  it("--params takes inline JSON objects only", () => {
    expect(parseParamsOption('{"day":"x"}')).toEqual({ day: "x" });
    expect(() => parseParamsOption("[1]")).toThrowError(/expected a JSON object/);
    expect(() => parseParamsOption("{")).toThrowError(/not valid JSON/);
    expect(() => parseParamsOption("@/nonexistent/params.json")).toThrowError(/cannot read/);
  });
});

describe("validation against the manifest's schema", () => {
  it("lists every violation with its path, and unknown parameters", async () => {
    const error = (await validateAgainstSchema("p", { limit: 1.5, mode: "all", tags: ["a", 2], limt: 3 }, schema).then(
      () => undefined,
      (e: unknown) => e,
    )) as ParameterValidationError;
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { path: "limt", message: "unknown parameter; known parameters: day, limit, ratio, dry, tags, mode, note" },
        { path: "day", message: "required" },
        { path: "limit", message: "must be integer" },
        { path: "tags.1", message: "must be string" },
        { path: "mode", message: 'must be one of "full", "delta"' },
      ]),
    );
  });

  it("accepts valid parameters", async () => {
    await expect(validateAgainstSchema("p", { day: "x", limit: 2 }, schema)).resolves.toBeUndefined();
  });
});

describe("resolveParameters: one path for the CLI and the in-image runner", () => {
  it("merges FLOWPACK_PARAMS, then --params, then --param (coerced), later keys winning", () => {
    expect(
      resolveParameters(schema, {
        env: '{"day":"from-env","limit":1,"dry":true}',
        params: '{"limit":2,"mode":"delta"}',
        pairs: ["limit=3", "ratio=0.5"],
      }),
    ).toEqual({ day: "from-env", limit: 3, dry: true, mode: "delta", ratio: 0.5 });
    expect(resolveParameters(schema, {})).toEqual({});
  });

  it("names FLOWPACK_PARAMS when its JSON is bad", () => {
    expect(() => resolveParameters(schema, { env: "[1]" })).toThrowError(/^FLOWPACK_PARAMS: expected a JSON object/);
    expect(() => resolveParameters(schema, { params: "{" })).toThrowError(/^--params: not valid JSON/);
  });
});

describe("unknown parameters", () => {
  it("are reported unless the schema allows additional properties", () => {
    const known = { type: "object", properties: { a: {}, b: {} } };
    expect(unknownParameterIssues({ a: 1, c: 2 }, known)).toEqual([{ path: "c", message: "unknown parameter; known parameters: a, b" }]);
    expect(unknownParameterIssues({ c: 2 }, { ...known, additionalProperties: false })).toHaveLength(1);
    expect(unknownParameterIssues({ c: 2 }, { ...known, additionalProperties: {} })).toEqual([]);
    expect(unknownParameterIssues({ c: 2 }, { ...known, additionalProperties: { type: "number" } })).toEqual([]);
    expect(unknownParameterIssues({ c: 2 }, { type: "object" })[0]?.message).toBe("unknown parameter; known parameters: (none)");
  });
});

describe("a malformed flowParameterSchema in a manifest", () => {
  it("is a ManifestError (exit 2) naming the manifest, not an internal error", async () => {
    for (const broken of [
      { type: "object", properties: { day: { type: "strin" } } },
      { type: "object", properties: { day: { $ref: "https://example.com/schemas/day.json" } } },
    ]) {
      const error = (await validateAgainstSchema("p", { day: "x" }, broken, "/tmp/m.json").then(
        () => undefined,
        (e: unknown) => e,
      )) as ManifestError;
      expect(error).toBeInstanceOf(ManifestError);
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(/^\/tmp\/m\.json: flowParameterSchema is not a usable JSON Schema: /);
    }
  });
});

describe("reserved keys (__proto__, constructor, prototype)", () => {
  it("--param refuses them by name instead of dropping them", () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      expect(() => parseParamPairs([`${key}=1`], schema)).toThrow(UsageError);
      expect(() => parseParamPairs([`${key}=1`], schema)).toThrow(`"${key}" is a reserved name and cannot be a parameter`);
    }
  });

  it("JSON parameters carrying them at any depth are ParameterValidationErrors naming the path", async () => {
    const params = resolveParameters(schema, { params: '{"day":"d","tags":[{"__proto__":{"polluted":true}}],"constructor":{"prototype":1}}' });
    const error = (await validateAgainstSchema("p", params, schema).catch((e: unknown) => e)) as ParameterValidationError;
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(error.issues.map((i) => i.path)).toEqual(["tags.0.__proto__", "constructor"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("a flow run from the library refuses them too", async () => {
    const { runFlow } = await import("../../src/run/local.js");
    const f = flow({ name: "r", parameters: z.object({ a: z.number().optional() }).passthrough() }, async (p) => p);
    const error = (await runFlow(f, JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>).catch((e: unknown) => e)) as ParameterValidationError;
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(error.issues).toEqual([{ path: "__proto__", message: '"__proto__" is a reserved name and cannot be a parameter or key' }]);
  });
});
