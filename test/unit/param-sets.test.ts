import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ParameterValidationError, UsageError } from "../../src/errors.js";
import type { JsonSchema } from "../../src/flow/flow.js";
import { parseParamSets, readParamSets } from "../../src/run/param-sets.js";

const schema: JsonSchema = {
  type: "object",
  properties: { n: { type: "integer" }, name: { type: "string" } },
  required: ["n"],
  additionalProperties: false,
};

describe("parameter sets (--each)", () => {
  it("reads one JSON object per line, skipping blank and # lines, keeping input order and line numbers", async () => {
    const sets = await parseParamSets('{"n":1}\n\n# a comment\n{"n":2,"name":"b"}\r\n', "p.jsonl", "f", schema);
    expect(sets).toEqual([
      { index: 0, line: 1, params: { n: 1 } },
      { index: 1, line: 4, params: { n: 2, name: "b" } },
    ]);
  });

  it("names every bad line at once, and runs nothing", async () => {
    const text = '{"n":1}\n{"n":"x"}\nnot json\n[1]\n{"m":3}\n';
    const error = await parseParamSets(text, "p.jsonl", "f", schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParameterValidationError);
    const paths = (error as ParameterValidationError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["line 2: n", "line 3", "line 4", "line 5: m", "line 5: n"]));
    expect(paths.some((p) => p.startsWith("line 1"))).toBe(false);
    expect((error as ParameterValidationError).exitCode).toBe(2);
  });

  it("refuses reserved keys at any depth, by line", async () => {
    const error = await parseParamSets('{"n":1,"name":"a"}\n{"n":1,"__proto__":{"x":1}}\n', "p.jsonl", "f", { type: "object", additionalProperties: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect((error as ParameterValidationError).message).toContain("line 2");
  });

  it("refuses an empty file and a missing one as usage errors", async () => {
    await expect(parseParamSets("\n# nothing\n", "p.jsonl", "f", schema)).rejects.toBeInstanceOf(UsageError);
    await expect(readParamSets("/nonexistent/p.jsonl", "f", schema)).rejects.toBeInstanceOf(UsageError);
    const dir = mkdtempSync(join(tmpdir(), "ps-"));
    writeFileSync(join(dir, "p.jsonl"), '{"n":7}\n');
    await expect(readParamSets(join(dir, "p.jsonl"), "f", schema)).resolves.toEqual([{ index: 0, line: 1, params: { n: 7 } }]);
  });
});
