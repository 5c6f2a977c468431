import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { object } from "zod/mini";
import { InvalidFlowError, InvalidFlowNameError, ParameterValidationError, type ParameterIssue } from "../errors.js";
import { createLogger, type Logger } from "./logger.js";
import { FLOW_NAME_RULE, assertFlowName, slugify } from "./name.js";
import { toJsonSchema, zodMajorOf, type JsonSchema, type OutputOf, type ParameterSchema, type ZodIssueLike } from "./schema.js";

export type { JsonSchema, ParameterSchema } from "./schema.js";

/**
 * The brand that marks a flow. A flow bundle carries its own copy of flowpack, so flows are
 * recognised by this registered symbol, never by `instanceof`.
 */
export const FLOW_BRAND: unique symbol = Symbol.for("flowpack.flow") as never;
/** Version of the structural flow protocol below; bumped only on incompatible changes. */
export const FLOW_PROTOCOL = 1;

export interface FlowContext {
  readonly flowName: string;
  readonly runId: string;
  readonly log: Logger;
  /** Aborts when the run is asked to stop (SIGINT, SIGTERM, `docker stop`): finish up, then return or throw. */
  readonly signal: AbortSignal;
}

/** The default parameters: none (an empty zod object, which drops unknown keys). */
type NoParameters = ParameterSchema<Record<string, never>>;

export interface FlowOptions<S extends ParameterSchema> {
  /** `[a-z0-9][a-z0-9._-]*`, ≤ 128 characters. Defaults to the function's name, slugified. */
  name?: string;
  description?: string;
  /** A zod 3 or zod 4 object schema. Defaults to an empty object schema. */
  parameters?: S;
}

/** What a flow function gets: the parameters as its schema parses them (zod 3 or zod 4). */
export type FlowParameters<S extends ParameterSchema> = OutputOf<S>;

export type FlowFunction<S extends ParameterSchema, R> = (params: FlowParameters<S>, ctx: FlowContext) => R | Promise<R>;

export interface Flow<S extends ParameterSchema = ParameterSchema, R = unknown> {
  readonly [FLOW_BRAND]: typeof FLOW_PROTOCOL;
  readonly name: string;
  readonly description: string | undefined;
  readonly parameters: S;
  /** Absolute path of the module that called `flow()`, when it could be determined. */
  readonly modulePath: string | undefined;
  readonly fn: FlowFunction<S, R>;
  /** The parameters' JSON Schema (draft 2020-12), as written into every manifest. */
  parameterSchema(): JsonSchema;
  /** Validates and applies defaults; throws ParameterValidationError listing every violation. */
  validateParameters(raw: unknown): FlowParameters<S>;
  /** Validates the parameters, then calls the function. */
  run(raw: unknown, context?: Partial<FlowContext>): Promise<R>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any flow, whatever its parameters
export type AnyFlow = Flow<ParameterSchema<any>, unknown>;

export function flow<S extends ParameterSchema = NoParameters, R = unknown>(
  options: FlowOptions<S>,
  fn: FlowFunction<S, R>,
): Flow<S, R>;
export function flow<R>(fn: FlowFunction<NoParameters, R>): Flow<NoParameters, R>;
export function flow(
  optionsOrFn: FlowOptions<ParameterSchema> | FlowFunction<ParameterSchema, unknown>,
  maybeFn?: FlowFunction<ParameterSchema, unknown>,
): AnyFlow {
  const modulePath = callerModulePath();
  const [options, fn] =
    typeof optionsOrFn === "function" ? [{}, optionsOrFn] : [optionsOrFn ?? {}, maybeFn];
  if (typeof fn !== "function") {
    throw new InvalidFlowError("flow() needs a function: flow({ name, parameters }, async (params, ctx) => { … })");
  }
  const name = resolveName(options.name, fn);
  const parameters: ParameterSchema = options.parameters ?? object({});
  const schema = toParameterSchema(name, parameters);

  const validateParameters = (raw: unknown): unknown => {
    const result = parameters.safeParse(raw ?? {});
    if (result.success) return result.data;
    throw new ParameterValidationError(name, result.error.issues.map(toIssue));
  };

  return Object.freeze({
    [FLOW_BRAND]: FLOW_PROTOCOL,
    name,
    description: options.description,
    parameters,
    modulePath,
    fn,
    parameterSchema: () => structuredClone(schema),
    validateParameters,
    async run(raw: unknown, context: Partial<FlowContext> = {}) {
      const params = validateParameters(raw);
      return fn(params, createContext(name, context));
    },
  }) as AnyFlow;
}

/** The `ctx` a flow function gets: what `context` gives, a fresh run ID and a logger otherwise. */
export function createContext(flowName: string, context: Partial<FlowContext> = {}): FlowContext {
  return {
    flowName,
    runId: context.runId ?? randomUUID(),
    log: context.log ?? createLogger(flowName),
    signal: context.signal ?? new AbortController().signal,
  };
}

/** Structural check for a flow made by any copy of flowpack that speaks this protocol. */
export function isFlow(value: unknown): value is AnyFlow {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return false;
  const v = value as Record<string | symbol, unknown>;
  return (
    v[FLOW_BRAND] === FLOW_PROTOCOL &&
    typeof v.name === "string" &&
    typeof v.run === "function" &&
    typeof v.parameterSchema === "function" &&
    typeof v.validateParameters === "function"
  );
}

function resolveName(explicit: string | undefined, fn: (...args: never[]) => unknown): string {
  if (explicit !== undefined) return assertFlowName(explicit);
  const derived = slugify(fn.name ?? "");
  if (!derived) {
    throw new InvalidFlowNameError(
      `flow name missing: pass { name } or use a named function (names use ${FLOW_NAME_RULE})`,
    );
  }
  return assertFlowName(derived);
}

function toParameterSchema(name: string, parameters: ParameterSchema): JsonSchema {
  if (zodMajorOf(parameters) === undefined) {
    throw new InvalidFlowError(`flow "${name}": parameters must be a zod schema (zod 3 or zod 4), e.g. z.object({ day: z.string() })`);
  }
  let schema: JsonSchema;
  try {
    schema = toJsonSchema(parameters);
  } catch (error) {
    throw new InvalidFlowError(`flow "${name}": its parameters cannot be expressed as JSON Schema: ${(error as Error).message}`);
  }
  if (schema.type !== "object") {
    throw new InvalidFlowError(`flow "${name}": parameters must be a zod object schema (z.object({ … })), got type ${JSON.stringify(schema.type)}`);
  }
  return { title: "Parameters", ...schema };
}

/**
 * One issue from either zod as flowpack reports it. A date that does not parse is said to be an
 * invalid date: zod 3 says so (`invalid_date`), zod 4 reports it as an `invalid_type` whose message
 * reads "expected date, received Date" (the coerced value is a Date, just not a valid one).
 */
function toIssue(issue: ZodIssueLike): ParameterIssue {
  return { path: issue.path.map(String).join("."), message: isInvalidDate(issue) ? INVALID_DATE : issue.message };
}

const INVALID_DATE = "invalid date: expected a date such as 2024-03-01 or 2024-03-01T12:00:00Z";

function isInvalidDate(issue: ZodIssueLike): boolean {
  const i = issue as ZodIssueLike & { expected?: unknown; received?: unknown; input?: unknown };
  if (i.code === "invalid_date") return true;
  if (i.code !== "invalid_type" || i.expected !== "date") return false;
  return i.received === "Invalid Date" || (i.input instanceof Date && Number.isNaN(i.input.getTime())) || /received Date$/.test(i.message);
}

/** The file of the code that called `flow()`, read from V8's structured call sites. */
function callerModulePath(): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, flow);
    const file = holder.stack?.[0]?.getFileName() ?? undefined;
    if (!file) return undefined;
    return file.startsWith("file:") ? fileURLToPath(file) : file;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}
