import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
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

const splitFirstLine = (text: string): [string, string] => {
  const end = text.indexOf("\n");
  return [text.slice(0, end), text.slice(end + 1)];
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
    expect(files[0]).toMatch(/^[0-9a-f]{16}\.cjs$/);
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
    const [source, code] = splitFirstLine(readFileSync(path, "utf8"));
    expect(JSON.parse(source)[2]).toMatchObject({ properties: { name: { minLength: 1 } } });
    expect(code).toContain("minLength");
    writeFileSync(path, `${source}\nmodule.exports = function v() { v.errors = [{ instancePath: "/name", keyword: "x", params: {}, message: "from the cache" }]; return false; };`);
    expect(await issuesOf({ name: "x" })).toEqual([{ path: "name", message: "from the cache" }]);
  });

  it("a cached file that does not evaluate is a miss: Ajv compiles the schema again and replaces it", async () => {
    await issuesOf({ name: "x" });
    const [file] = readdirSync(join(cache, "validators"));
    const [source] = splitFirstLine(readFileSync(join(cache, "validators", file!), "utf8"));
    writeFileSync(join(cache, "validators", file!), `${source}\nthis is not JavaScript {`);
    expect(await issuesOf({ name: "" })).toEqual([{ path: "name", message: "must NOT have fewer than 1 characters" }]);
    expect(readFileSync(join(cache, "validators", file!), "utf8")).toContain("minLength");
  });

  it("keeps the 200 validators written last: a new one replaces the oldest", async () => {
    const dir = join(cache, "validators");
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 200; i++) {
      const file = join(dir, `old-${String(i).padStart(3, "0")}.cjs`);
      writeFileSync(file, "[]\nmodule.exports = () => true;");
      utimesSync(file, 1_000_000 + i, 1_000_000 + i); // old-000 the oldest
    }
    await issuesOf({ name: "x" });
    const files = readdirSync(dir);
    expect(files).toHaveLength(200);
    expect(files).not.toContain("old-000.cjs");
    expect(files).toContain("old-001.cjs");
    expect(files.filter((f) => /^[0-9a-f]{16}\.cjs$/.test(f))).toHaveLength(1);
  });

  it("a file made from another schema (its name is a 64-bit hash) is a miss, never run for this one", async () => {
    // schema B's validator placed under schema A's name, as a hash collision would
    await validateAgainstSchema("other", {}, { type: "object", properties: { n: { type: "integer" } } });
    await issuesOf({ name: "x" });
    const files = readdirSync(join(cache, "validators"));
    expect(files).toHaveLength(2);
    const texts = files.map((f) => readFileSync(join(cache, "validators", f), "utf8"));
    const mine = texts.findIndex((t) => t.includes("minLength"));
    writeFileSync(join(cache, "validators", files[mine]!), texts[1 - mine]!.replace(/\n[^]*$/, "\nmodule.exports = () => true;"));
    expect(await issuesOf({ name: "" })).toEqual([{ path: "name", message: "must NOT have fewer than 1 characters" }]);
    // and it is replaced by this schema's
    expect(splitFirstLine(readFileSync(join(cache, "validators", files[mine]!), "utf8"))[1]).toContain("minLength");
  });
});
