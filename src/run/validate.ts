import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import type * as Ajv2020Module from "ajv/dist/2020.js";
import { ManifestError, ParameterValidationError, type ParameterIssue } from "../errors.js";
import type { JsonSchema } from "../flow/flow.js";
import { ajvRequire, readCachedValidator, validatorKey, writeCachedValidator } from "./validator-cache.js";
import { assertNoReservedKeys, unknownParameterIssues, type Parameters } from "./parameters.js";

let ajv: Ajv2020 | undefined; // loaded and made on a validator cache miss only: most commands never validate against a JSON Schema
/** Ajv's options; `code.source` keeps each validator's code, for the on-disk cache (validator-cache.ts). */
const AJV_OPTIONS = { allErrors: true, strict: false, validateFormats: false, code: { source: true } } as const;
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
  const validate = compiled.get(schema) ?? (await validatorFor(schema, source));
  compiled.set(schema, validate);
  assertNoReservedKeys(flowName, params);
  const issues: ParameterIssue[] = unknownParameterIssues(params, schema);
  if (!validate(params)) issues.push(...(validate.errors ?? []).map(toIssue));
  if (issues.length > 0) throw new ParameterValidationError(flowName, issues);
}

/** The schema's validator: from the on-disk cache, else compiled by Ajv (and its code cached). */
async function validatorFor(schema: JsonSchema, source: string): Promise<ValidateFunction> {
  const key = validatorKey({ ...schema, $id: undefined }, AJV_OPTIONS);
  const cached = await readCachedValidator(key);
  if (cached) return cached;
  // Required from node_modules, never bundled: the CLI's `run` bundle is loaded on every run, and
  // Ajv (~280 KB with its dependencies) is needed only here, once per schema. A CommonJS package:
  // require, not import(), which the CLI's command bundles cannot use for packages.
  ajv ??= new (ajvRequire("ajv/dist/2020.js") as typeof Ajv2020Module).Ajv2020(AJV_OPTIONS);
  const validate = compile(ajv, schema, source);
  const standalone = ajvRequire("ajv/dist/standalone/index.js") as { default: (ajv: Ajv2020, validate: ValidateFunction) => string };
  await writeCachedValidator(key, standalone.default(ajv, validate));
  return validate;
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
