// Parameter schemas from zod 3 and zod 4: the same JSON Schema where they mean the same thing, and
// validation, defaults and error paths alike. `zod3` is zod 3.23, `zod325` is the "zod" of 3.25
// (zod 3's API; its zod 4 lives at "zod/v4"), installed as aliases (see package.json).
import { describe, expect, it } from "vitest";
import { z as z4 } from "zod";
import { z as z3 } from "zod3";
import { z as z325 } from "zod325";
import { z as z325v4 } from "zod325/v4";
import { flow } from "../../src/flow/flow.js";
import { zodMajorOf } from "../../src/flow/schema.js";
import { InvalidFlowError, ParameterValidationError } from "../../src/errors.js";

// The same shapes, written once against the API zod 3 and zod 4 share.
type Zod = typeof z3;
function shapes(z: Zod) {
  return z.object({
    name: z.string().min(1).max(40).describe("who"),
    limit: z.number().int().default(100),
    ratio: z.number().min(0).max(1).optional(),
    positive: z.number().positive().multipleOf(2).optional(),
    kind: z.enum(["full", "delta"]),
    level: z.literal("debug").optional(),
    tags: z.array(z.string()).min(1).max(5),
    nested: z.object({ dry: z.boolean(), note: z.string().nullable(), deep: z.object({ n: z.number() }).nullable() }),
    day: z.coerce.date(),
    code: z.string().regex(/^[A-Z]{3}$/),
    either: z.union([z.string(), z.number()]),
    counts: z.record(z.string(), z.number()),
    pair: z.tuple([z.string(), z.number()]),
    trimmed: z.string().transform((s) => s.trim()),
    retries: z.number().int().nullable().default(null),
    anything: z.unknown(),
  });
}

const zods = [
  { label: "zod 4.x", z: z4 as unknown as Zod, major: 4 },
  { label: "zod 3.23", z: z3, major: 3 },
  { label: 'zod 3.25 ("zod")', z: z325 as unknown as Zod, major: 3 },
  { label: 'zod 3.25 ("zod/v4")', z: z325v4 as unknown as Zod, major: 4 },
] as const;

const valid = {
  name: "nightly",
  kind: "full",
  tags: ["a"],
  nested: { dry: true, note: null, deep: null },
  day: "2024-03-01",
  code: "ABC",
  either: 3,
  counts: { a: 1 },
  pair: ["x", 1],
  trimmed: "  x ",
  anything: [1],
};

const schemaOf = (z: Zod) => flow({ name: "shapes", parameters: shapes(z) }, async () => 0).parameterSchema();

describe.each(zods)("parameters from $label", ({ z, major }) => {
  const f = flow({ name: "shapes", parameters: shapes(z) }, async (params) => params);

  it(`is recognised as zod ${major} by its structure`, () => {
    expect(zodMajorOf(shapes(z))).toBe(major);
  });

  it("gives the same JSON Schema as zod 4 for the same shapes", () => {
    expect(f.parameterSchema()).toEqual(schemaOf(z4 as unknown as Zod));
  });

  it("applies defaults, coerces the date and transforms before the function runs", async () => {
    const params = (await f.run(valid)) as Record<string, unknown>;
    expect(params).toMatchObject({ limit: 100, retries: null, trimmed: "x", nested: { dry: true } });
    expect(params.day).toEqual(new Date("2024-03-01"));
  });

  it("reports every violation with its path", () => {
    const error = catchError(() => f.validateParameters({ ...valid, kind: "half", tags: [], nested: { dry: "yes", note: null, deep: { n: "1" } } }));
    expect(error).toBeInstanceOf(ParameterValidationError);
    const paths = (error as ParameterValidationError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(["kind", "nested.deep.n", "nested.dry", "tags"]);
  });

  it("says a date that does not parse is an invalid date", () => {
    const error = catchError(() => f.validateParameters({ ...valid, day: "notadate" })) as ParameterValidationError;
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(error.issues).toEqual([{ path: "day", message: expect.stringMatching(/^invalid date/) }]);
    expect(error.message).not.toMatch(/received Date/);
  });

  it("refuses a schema that is not an object, naming the type", () => {
    expect(() => flow({ name: "x", parameters: z.string() }, async () => 0)).toThrowError(InvalidFlowError);
    expect(() => flow({ name: "x", parameters: z.string() }, async () => 0)).toThrowError(/must be a zod object schema.*"string"/);
  });
});

describe("zod 3 shapes zod 4 writes differently", () => {
  it("strict and passthrough objects, and a catchall, say what extra keys may be", () => {
    const strict = flow({ name: "s", parameters: z3.object({ a: z3.string() }).strict() }, async () => 0).parameterSchema();
    const loose = flow({ name: "l", parameters: z3.object({ a: z3.string() }).passthrough() }, async () => 0).parameterSchema();
    const v4strict = flow({ name: "s", parameters: z4.object({ a: z4.string() }).strict() }, async () => 0).parameterSchema();
    const v4loose = flow({ name: "l", parameters: z4.object({ a: z4.string() }).passthrough() }, async () => 0).parameterSchema();
    expect(strict).toEqual(v4strict);
    expect(loose).toEqual(v4loose);
  });

  it("numeric native enums list their values without TypeScript's reverse mappings", () => {
    enum Level { Low = 1, High = 2 }
    const schema = flow({ name: "e", parameters: z3.object({ level: z3.nativeEnum(Level) }) }, async () => 0).parameterSchema();
    expect(schema.properties).toEqual({ level: { enum: [1, 2] } });
  });

  it("refuses what is not a zod schema, saying which zods are understood", () => {
    const notZod = { safeParse: () => ({ success: true as const, data: {} }), _output: {} };
    expect(() => flow({ name: "x", parameters: notZod }, async () => 0)).toThrowError(/zod 3 or zod 4/);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
