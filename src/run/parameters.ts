import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import type { JsonSchema } from "../flow/flow.js";

export type Parameters = Record<string, unknown>;

/**
 * `--params` value: inline JSON or `@file` holding JSON; must be an object.
 */
export function parseParamsOption(value: string): Parameters {
  let text = value;
  if (value.startsWith("@")) {
    try {
      text = readFileSync(value.slice(1), "utf8");
    } catch {
      throw new UsageError(`--params: cannot read ${value.slice(1)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--params: not valid JSON: ${(error as Error).message}`, {
      hint: `pass an object, e.g. --params '{"day":"2024-01-31"}' or --params @params.json`,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError("--params: expected a JSON object");
  }
  return parsed as Parameters;
}

/** `KEY=VALUE` pairs, each value coerced by the type the schema gives KEY. */
export function parseParamPairs(pairs: string[], schema: JsonSchema): Parameters {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const result: Parameters = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param ${JSON.stringify(pair)}: expected KEY=VALUE`);
    const key = pair.slice(0, eq);
    result[key] = coerce(pair.slice(eq + 1), properties[key]);
  }
  return result;
}

function typesOf(schema: JsonSchema | undefined): Set<string> {
  const types = new Set<string>();
  if (!schema) return types;
  const type = schema.type;
  if (typeof type === "string") types.add(type);
  if (Array.isArray(type)) for (const t of type) types.add(String(t));
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const variants = schema[key];
    if (Array.isArray(variants)) for (const v of variants) for (const t of typesOf(v as JsonSchema)) types.add(t);
  }
  if (schema.enum && Array.isArray(schema.enum)) for (const v of schema.enum) types.add(v === null ? "null" : typeof v);
  if ("const" in schema) types.add(schema.const === null ? "null" : typeof schema.const);
  return types;
}

/** Turns a command-line string into the value the schema asks for; leaves it a string when unsure. */
export function coerce(raw: string, schema: JsonSchema | undefined): unknown {
  const types = typesOf(schema);
  if (types.has("string") && types.size === 1) return raw;
  if (types.has("null") && raw === "null") return null;
  if ((types.has("number") || types.has("integer")) && raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  if (types.has("boolean")) {
    if (["true", "1", "yes"].includes(raw.toLowerCase())) return true;
    if (["false", "0", "no"].includes(raw.toLowerCase())) return false;
  }
  if (types.has("object") || types.has("array") || types.size === 0) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}
