// zod 4's core only (its JSON Schema generator and metadata registry), not the `z` namespace: the
// flow runtime is bundled into every flow, and the namespace drags all of zod 4 in with it (about
// 0.75 MB, which a zod 3 project would carry on top of its own zod, in its app layer).
import { globalRegistry, toJSONSchema, type $ZodType } from "zod/v4/core";

/**
 * A flow's parameter schema as flowpack uses it: a zod 3 or zod 4 schema (classic or mini),
 * recognised by its structure (zod 4 schemas carry `_zod`, zod 3 schemas `_def`), never by
 * `instanceof` — the project's zod is not flowpack's copy, and may be another major version.
 */
export type ParameterSchema<Output = unknown> = Zod4Schema<Output> | Zod3Schema<Output>;

export interface Zod4Schema<Output> {
  readonly _zod: { readonly output: Output };
  safeParse(data: unknown): ParameterParseResult<Output>;
}

export interface Zod3Schema<Output> {
  readonly _output: Output;
  safeParse(data: unknown): ParameterParseResult<Output>;
}

/** The type a schema parses to, from either zod. */
export type OutputOf<S> = S extends { readonly _zod: { readonly output: infer O } } ? O : S extends { readonly _output: infer O } ? O : never;

export type ParameterParseResult<Output> =
  | { success: true; data: Output }
  | { success: false; error: { issues: readonly ZodIssueLike[] } };

/** What flowpack reads of an issue from either zod: the common fields, and the rest loosely. */
export interface ZodIssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
}

export type JsonSchema = Record<string, unknown>;

export type ZodMajor = 3 | 4;

const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

/** Which zod made `schema`, by structure; undefined when it is not a zod schema at all. */
export function zodMajorOf(schema: unknown): ZodMajor | undefined {
  if (schema === null || typeof schema !== "object") return undefined;
  const s = schema as Record<string, unknown>;
  if (typeof s.safeParse !== "function") return undefined;
  if (s._zod !== null && typeof s._zod === "object") return 4;
  const def = s._def as Record<string, unknown> | undefined;
  if (def !== null && typeof def === "object" && typeof def.typeName === "string") return 3;
  return undefined;
}

/**
 * The JSON Schema (draft 2020-12) of what a schema accepts as input: defaulted fields are not
 * required, what JSON cannot express (dates, bigints, functions) accepts anything. zod 4 schemas go
 * through zod's own `toJSONSchema`; zod 3 schemas through `zod3ToJsonSchema` below, which gives the
 * same output for the shapes both versions mean the same way.
 */
export function toJsonSchema(schema: ParameterSchema): JsonSchema {
  switch (zodMajorOf(schema)) {
    case 4:
      return toJSONSchema(schema as unknown as $ZodType, {
        target: "draft-2020-12",
        io: "input",
        unrepresentable: "any",
        metadata: metadataOfAnyCopy as unknown as typeof globalRegistry,
      }) as JsonSchema;
    case 3:
      return { $schema: DRAFT_2020_12, ...zod3ToJsonSchema(schema) };
    default:
      throw new TypeError("not a zod schema (zod 3 or zod 4 expected)");
  }
}

/**
 * Descriptions and other metadata of a zod 4 schema live in its zod copy's global registry. Copies
 * from zod 4.1 on share one (on `globalThis`); an older copy (zod 3.25's "zod/v4", 4.0) keeps its
 * own, which the schema's `.meta()` reads. The JSON Schema generator only asks `get`.
 */
const metadataOfAnyCopy = {
  get(schema: unknown): Record<string, unknown> | undefined {
    const own = globalRegistry.get(schema as $ZodType);
    if (own) return own;
    const meta = (schema as { meta?: unknown }).meta;
    return typeof meta === "function" ? (meta.call(schema) as Record<string, unknown> | undefined) : undefined;
  },
};

// ---- zod 3 ----------------------------------------------------------------------------------
// zod 3 describes each schema in `_def`, named by `_def.typeName`. This converter covers what a
// parameter schema is made of, and mirrors zod 4's `toJSONSchema` output (input side) for it.

type Def = Record<string, unknown> & { typeName: string; description?: string };
interface Check {
  kind: string;
  value?: unknown;
  inclusive?: boolean;
  regex?: RegExp;
}

const defOf = (schema: unknown): Def => (schema as { _def: Def })._def;

/** zod 4 bounds `.int()` to the safe integers; so does this output, for the same schema. */
const SAFE_INTEGER_BOUNDS = { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };

/** Formats zod 3 string checks name as JSON Schema formats (zod 4 names them alike). */
const STRING_FORMATS: Record<string, string> = {
  email: "email",
  url: "uri",
  uuid: "uuid",
  cuid: "cuid",
  cuid2: "cuid2",
  ulid: "ulid",
  emoji: "emoji",
  datetime: "date-time",
  date: "date",
  time: "time",
  duration: "duration",
  ip: "ip",
  base64: "base64",
  nanoid: "nanoid",
};

export function zod3ToJsonSchema(schema: unknown): JsonSchema {
  const def = defOf(schema);
  const converted = convert3(def);
  return def.description !== undefined && !("description" in converted) ? { ...converted, description: def.description } : converted;
}

function convert3(def: Def): JsonSchema {
  switch (def.typeName) {
    case "ZodString":
      return string3(def.checks as Check[]);
    case "ZodNumber":
      return number3(def.checks as Check[]);
    case "ZodBoolean":
      return { type: "boolean" };
    case "ZodNull":
      return { type: "null" };
    case "ZodLiteral":
      return literal3(def.value);
    case "ZodEnum":
      return { type: "string", enum: [...(def.values as string[])] };
    case "ZodNativeEnum": {
      // The members' values, without the reverse mappings TypeScript adds to numeric enums.
      const object = def.values as Record<string, string | number>;
      const values = Object.keys(object)
        .filter((key) => typeof object[object[key] as string | number] !== "number")
        .map((key) => object[key]);
      return { enum: [...new Set(values)] };
    }
    case "ZodOptional":
    case "ZodBranded":
    case "ZodReadonly":
    case "ZodCatch":
      return zod3ToJsonSchema(def.innerType ?? def.type);
    case "ZodNullable":
      return nullable(zod3ToJsonSchema(def.innerType));
    case "ZodDefault":
      return { default: (def.defaultValue as () => unknown)(), ...zod3ToJsonSchema(def.innerType) };
    case "ZodEffects": {
      // Refinements and transforms take their inner schema's input; a preprocess takes anything.
      const effect = def.effect as { type: string };
      return effect.type === "preprocess" ? {} : zod3ToJsonSchema(def.schema);
    }
    case "ZodPipeline":
      return zod3ToJsonSchema(def.in);
    case "ZodLazy":
      return zod3ToJsonSchema((def.getter as () => unknown)());
    case "ZodArray":
      return array3(def);
    case "ZodTuple":
      return tuple3(def);
    case "ZodObject":
      return object3(def);
    case "ZodRecord":
      return { type: "object", propertyNames: zod3ToJsonSchema(def.keyType), additionalProperties: zod3ToJsonSchema(def.valueType) };
    case "ZodUnion":
    case "ZodDiscriminatedUnion":
      return union([...(def.options as Iterable<unknown>)].map(zod3ToJsonSchema));
    case "ZodIntersection":
      return { allOf: [zod3ToJsonSchema(def.left), zod3ToJsonSchema(def.right)] };
    default:
      // ZodAny, ZodUnknown, and what JSON cannot carry (ZodDate, ZodBigInt, ZodMap, ZodSet, …):
      // accepted as anything, as zod 4's `unrepresentable: "any"` does.
      return {};
  }
}

function string3(checks: Check[]): JsonSchema {
  const out: JsonSchema = { type: "string" };
  for (const check of checks) {
    if (check.kind === "min") out.minLength = check.value;
    else if (check.kind === "max") out.maxLength = check.value;
    else if (check.kind === "length") out.minLength = out.maxLength = check.value;
    else if (check.kind === "regex" && check.regex) out.pattern = check.regex.source;
    else if (STRING_FORMATS[check.kind]) out.format = STRING_FORMATS[check.kind];
  }
  return out;
}

function number3(checks: Check[]): JsonSchema {
  const int = checks.some((c) => c.kind === "int");
  const out: JsonSchema = { type: int ? "integer" : "number", ...(int ? SAFE_INTEGER_BOUNDS : {}) };
  for (const check of checks) {
    if (check.kind === "min") out[check.inclusive === false ? "exclusiveMinimum" : "minimum"] = check.value;
    else if (check.kind === "max") out[check.inclusive === false ? "exclusiveMaximum" : "maximum"] = check.value;
    else if (check.kind === "multipleOf") out.multipleOf = check.value;
  }
  return out;
}

function literal3(value: unknown): JsonSchema {
  if (value === null) return { type: "null" };
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return { type: typeof value, const: value };
  return {}; // undefined, bigint, symbol: not JSON
}

function array3(def: Def): JsonSchema {
  const out: JsonSchema = {};
  const bound = (key: string) => (def[key] as { value: number } | null)?.value;
  if (bound("exactLength") !== undefined) out.minItems = out.maxItems = bound("exactLength");
  if (bound("minLength") !== undefined) out.minItems = bound("minLength");
  if (bound("maxLength") !== undefined) out.maxItems = bound("maxLength");
  return { ...out, type: "array", items: zod3ToJsonSchema(def.type) };
}

function tuple3(def: Def): JsonSchema {
  const items = (def.items as unknown[]).map(zod3ToJsonSchema);
  const rest = def.rest ? zod3ToJsonSchema(def.rest) : undefined;
  return {
    type: "array",
    prefixItems: items,
    items: rest ?? false,
    minItems: items.length,
    ...(rest ? {} : { maxItems: items.length }),
  };
}

function object3(def: Def): JsonSchema {
  const shape = (def.shape as () => Record<string, unknown>)();
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    properties[key] = zod3ToJsonSchema(value);
    if (!acceptsMissing3(defOf(value))) required.push(key);
  }
  const out: JsonSchema = { type: "object", properties };
  if (required.length > 0) out.required = required;
  const catchall = def.catchall ? defOf(def.catchall) : undefined;
  if (catchall && catchall.typeName !== "ZodNever") out.additionalProperties = zod3ToJsonSchema(def.catchall);
  else if (def.unknownKeys === "strict") out.additionalProperties = false;
  else if (def.unknownKeys === "passthrough") out.additionalProperties = {};
  return out;
}

/** Whether an object may leave the key out on input: optional, or defaulted (zod 4's `optin`). */
function acceptsMissing3(def: Def): boolean {
  switch (def.typeName) {
    case "ZodOptional":
    case "ZodDefault":
    case "ZodCatch":
      return true;
    case "ZodNullable":
    case "ZodBranded":
    case "ZodReadonly":
      return acceptsMissing3(defOf(def.innerType ?? def.type));
    case "ZodEffects":
      return acceptsMissing3(defOf(def.schema));
    case "ZodPipeline":
      return acceptsMissing3(defOf(def.in));
    default:
      return false;
  }
}

/** `T | null`: a type list when T is a bare type (as zod 4 writes it), else `anyOf`. */
function nullable(inner: JsonSchema): JsonSchema {
  return union([inner, { type: "null" }]);
}

function union(options: JsonSchema[]): JsonSchema {
  const bare = options.every((o) => Object.keys(o).length === 1 && typeof o.type === "string");
  return bare ? { type: options.map((o) => o.type) } : { anyOf: options };
}
