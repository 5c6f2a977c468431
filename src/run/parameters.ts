import { readFileSync } from "node:fs";
import { ParameterValidationError, UsageError, type ParameterIssue } from "../errors.js";
import type { JsonSchema } from "../flow/flow.js";
import { RUNNER_ENV } from "../manifest/runner-env.js";

export type Parameters = Record<string, unknown>;

/** Where a run's parameters come from, lowest precedence first. */
export interface ParameterSources {
  /** The value of FLOWPACK_PARAMS: JSON or `@file`. */
  env?: string;
  /** `--params`: JSON or `@file`. */
  params?: string;
  /** `--param KEY=VALUE`, each coerced by the schema. */
  pairs?: string[];
}

/**
 * The one way flowpack gathers a run's parameters (CLI and in-image runner): FLOWPACK_PARAMS,
 * then --params, then --param pairs, later ones overriding earlier keys.
 */
export function resolveParameters(schema: JsonSchema, sources: ParameterSources): Parameters {
  return {
    ...(sources.env ? parseParamsOption(sources.env, RUNNER_ENV.params) : {}),
    ...(sources.params ? parseParamsOption(sources.params) : {}),
    ...parseParamPairs(sources.pairs ?? [], schema),
  };
}

/**
 * Keys that name parts of JavaScript's object model rather than data: assigning them changes or
 * shadows an object's prototype instead of setting a parameter, so they are refused by name.
 */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Every reserved key (see RESERVED_KEYS) at any depth of `value`, as issues with their paths. */
export function reservedKeyIssues(value: unknown, path = ""): ParameterIssue[] {
  if (value === null || typeof value !== "object") return [];
  const issues: ParameterIssue[] = [];
  for (const key of Object.keys(value)) {
    const at = path ? `${path}.${key}` : key;
    if (RESERVED_KEYS.has(key)) issues.push({ path: at, message: `"${key}" is a reserved name and cannot be a parameter or key` });
    else issues.push(...reservedKeyIssues((value as Record<string, unknown>)[key], at));
  }
  return issues;
}

/** Refuses reserved keys (see RESERVED_KEYS) anywhere in `params`, naming each path. */
export function assertNoReservedKeys(flowName: string, params: unknown): void {
  const reserved = reservedKeyIssues(params);
  if (reserved.length > 0) throw new ParameterValidationError(flowName, reserved);
}

/**
 * Keys the schema does not declare, when it allows no others (`additionalProperties` absent or
 * false: zod's plain objects strip unknown keys, so a typo would otherwise be ignored silently).
 */
export function unknownParameterIssues(params: Parameters, schema: JsonSchema): ParameterIssue[] {
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) return [];
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  const known = Object.keys(properties).join(", ") || "(none)";
  return Object.keys(params)
    .filter((key) => !Object.hasOwn(properties, key))
    .map((key) => ({ path: key, message: `unknown parameter; known parameters: ${known}` }));
}

/**
 * `--params` value (or FLOWPACK_PARAMS, named by `label`): inline JSON or `@file` holding JSON;
 * must be an object.
 */
export function parseParamsOption(value: string, label = "--params"): Parameters {
  let text = value;
  if (value.startsWith("@")) {
    try {
      text = readFileSync(value.slice(1), "utf8");
    } catch {
      throw new UsageError(`${label}: cannot read ${value.slice(1)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${label}: not valid JSON: ${(error as Error).message}`, {
      hint: `pass an object, e.g. '{"day":"2024-01-31"}', or @params.json to read one from a file`,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(`${label}: expected a JSON object`);
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
    if (RESERVED_KEYS.has(key)) {
      throw new UsageError(`--param ${JSON.stringify(pair)}: "${key}" is a reserved name and cannot be a parameter`);
    }
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
