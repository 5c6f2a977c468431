import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ParameterValidationError, UsageError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import { coerce, parseParamPairs, parseParamsOption } from "../../src/run/parameters.js";
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
  it("lists every violation with its path, and unknown parameters", () => {
    const error = (() => {
      try {
        validateAgainstSchema("p", { limit: 1.5, mode: "all", tags: ["a", 2], limt: 3 }, schema);
      } catch (e) {
        return e;
      }
    })() as ParameterValidationError;
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

  it("accepts valid parameters", () => {
    expect(() => validateAgainstSchema("p", { day: "x", limit: 2 }, schema)).not.toThrow();
  });
});
