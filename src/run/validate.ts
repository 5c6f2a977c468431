import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { ParameterValidationError, type ParameterIssue } from "../errors.js";
import type { JsonSchema } from "../flow/flow.js";
import type { Parameters } from "./parameters.js";

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });

/**
 * Checks parameters against a manifest's JSON Schema before anything runs, reporting every
 * violation with its path, and unknown parameters too (a typo should not be ignored silently).
 */
export function validateAgainstSchema(flowName: string, params: Parameters, schema: JsonSchema): void {
  const issues: ParameterIssue[] = [];
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  if (schema.additionalProperties === undefined || schema.additionalProperties === false) {
    const known = Object.keys(properties);
    for (const key of Object.keys(params)) {
      if (!Object.hasOwn(properties, key)) {
        issues.push({ path: key, message: `unknown parameter; known parameters: ${known.join(", ") || "(none)"}` });
      }
    }
  }
  const validate = ajv.compile({ ...schema, $id: undefined });
  if (!validate(params)) issues.push(...(validate.errors ?? []).map(toIssue));
  if (issues.length > 0) throw new ParameterValidationError(flowName, issues);
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
