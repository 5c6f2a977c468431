import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ParameterValidationError } from "../../src/errors.js";
import { validateAgainstSchema } from "../../src/run/validate.js";

const schema = () => ({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: { name: { type: "string", minLength: 1 }, limit: { type: "integer", maximum: 10 } },
  required: ["name"],
  additionalProperties: false,
});
const issuesOf = async (params: Record<string, unknown>) => {
  const error = await validateAgainstSchema("hello", params, schema()).catch((e: unknown) => e);
  return error instanceof ParameterValidationError ? error.issues : error;
};

let cache: string;
beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), "flowpack-validators-"));
  vi.stubEnv("FLOWPACK_CACHE_DIR", cache);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(cache, { recursive: true, force: true });
});

describe("compiled parameter validators cached on disk", () => {
  it("the first run writes the validator's code; a later one (a new schema object, as a new process has) reports the same issues from it", async () => {
    const fresh = await issuesOf({ name: "", limit: 11 });
    const files = readdirSync(join(cache, "validators"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.cjs$/);
    // code that runs: readable and writable by this user only
    expect(statSync(join(cache, "validators")).mode & 0o777).toBe(0o700);
    expect(statSync(join(cache, "validators", files[0]!)).mode & 0o777).toBe(0o600);
    expect(await issuesOf({ name: "", limit: 11 })).toEqual(fresh);
    expect(fresh).toEqual([
      { path: "name", message: "must NOT have fewer than 1 characters" },
      { path: "limit", message: "must be <= 10" },
    ]);
    expect(await issuesOf({ name: "x" })).toBeUndefined();
  });

  it("the cached code is what runs", async () => {
    await issuesOf({ name: "x" });
    const [file] = readdirSync(join(cache, "validators"));
    const path = join(cache, "validators", file!);
    expect(readFileSync(path, "utf8")).toContain("minLength");
    writeFileSync(path, 'module.exports = function v() { v.errors = [{ instancePath: "/name", keyword: "x", params: {}, message: "from the cache" }]; return false; };');
    expect(await issuesOf({ name: "x" })).toEqual([{ path: "name", message: "from the cache" }]);
  });

  it("a cached file that does not evaluate is a miss: Ajv compiles the schema again and replaces it", async () => {
    await issuesOf({ name: "x" });
    const [file] = readdirSync(join(cache, "validators"));
    writeFileSync(join(cache, "validators", file!), "this is not JavaScript {");
    expect(await issuesOf({ name: "" })).toEqual([{ path: "name", message: "must NOT have fewer than 1 characters" }]);
    expect(readFileSync(join(cache, "validators", file!), "utf8")).toContain("minLength");
  });
});
