import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { commonJsExports } from "../_internal/import-module.js";
import { ManifestError, ParameterValidationError, type ParameterIssue } from "../errors.js";
import type { JsonSchema } from "../flow/flow.js";
import { assertNoReservedKeys, unknownParameterIssues, type Parameters } from "./parameters.js";

let ajv: Ajv2020 | undefined; // loaded and made on first use: most commands never validate against a JSON Schema
/**
 * Compiled validators by schema object. Ajv caches by object identity, and the schema is compiled
 * from a copy (without its `$id`), so without this every call — every line of a fan-out — would
 * compile the schema again and keep another copy in Ajv's cache.
 */
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/**
 * Checks parameters against a manifest's JSON Schema before anything runs, reporting every
 * violation with its path, and unknown parameters too (a typo should not be ignored silently).
 * `source` names the manifest when its schema itself is broken (a ManifestError, exit 2).
 */
export async function validateAgainstSchema(flowName: string, params: Parameters, schema: JsonSchema, source = "manifest"): Promise<void> {
  ajv ??= new (await loadAjv2020())({ allErrors: true, strict: false, validateFormats: false });
  const validate = compiled.get(schema) ?? compile(ajv, schema, source);
  compiled.set(schema, validate);
  assertNoReservedKeys(flowName, params);
  const issues: ParameterIssue[] = unknownParameterIssues(params, schema);
  if (!validate(params)) issues.push(...(validate.errors ?? []).map(toIssue));
  if (issues.length > 0) throw new ParameterValidationError(flowName, issues);
}

async function loadAjv2020(): Promise<typeof Ajv2020> {
  return commonJsExports(await import("ajv/dist/2020.js")).Ajv2020;
}

function compile(ajv: Ajv2020, schema: JsonSchema, source: string): ValidateFunction {
  try {
    return ajv.compile({ ...schema, $id: undefined });
  } catch (error) {
    throw new ManifestError(`${source}: flowParameterSchema is not a usable JSON Schema: ${(error as Error).message}`, {
      hint: "package the flow again, or fix the manifest's flowParameterSchema",
    });
  }
}

function toIssue(error: ErrorObject): ParameterIssue {
  const path = error.instancePath.split("/").slice(1).join(".");
  if (error.keyword === "required") {
    const missing = String((error.params as { missingProperty?: string }).missingProperty);
    return { path: path ? `${path}.${missing}` : missing, message: "required" };
  }
  if (error.keyword === "enum") {
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return { path, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}` };
  }
  return { path, message: error.message ?? error.keyword };
}
