import { FlowResultError } from "../errors.js";

/** At most this many bad values are named in one error. */
const MAX_PROBLEMS = 5;

/** Objects JSON.stringify turns into `{}` (or worse) without a word. */
const SILENTLY_EMPTIED: [new (...args: never[]) => object, string][] = [
  [Map, "a Map becomes {} in JSON; return Object.fromEntries(map)"],
  [Set, "a Set becomes {} in JSON; return [...set]"],
  [WeakMap, "a WeakMap cannot be represented in JSON"],
  [WeakSet, "a WeakSet cannot be represented in JSON"],
  [Promise, "a Promise becomes {} in JSON; await it"],
  [RegExp, "a RegExp becomes {} in JSON; return its .source"],
  [Error, "an Error becomes {} in JSON; return its message, or throw it"],
  [ArrayBuffer, "an ArrayBuffer becomes {} in JSON"],
];

/**
 * Where `value` holds something JSON cannot carry as it is: `path: why` for each (at most five).
 * JSON's own conventions stay allowed: `toJSON()` (Date, Buffer) is honoured and an `undefined`
 * object property is simply absent; what would be changed or lost silently — BigInt (which throws),
 * cycles, NaN/Infinity (null), undefined/functions/symbols in arrays (null) or as properties
 * (dropped), Map/Set/… ({}) — is named.
 */
export function jsonProblems(value: unknown, root = "result"): string[] {
  const problems: string[] = [];
  const ancestors = new Set<object>();
  const visit = (v: unknown, path: string, inArray: boolean): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      // JSON.stringify serializes what toJSON returns (a Date's string, a Buffer's bytes): check that
      try {
        v = (v as { toJSON(key: string): unknown }).toJSON("");
      } catch (error) {
        return void problems.push(`${path}: its toJSON() threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    switch (typeof v) {
      case "bigint":
        return void problems.push(`${path}: BigInt cannot be represented in JSON; return it as a string or a number`);
      case "number":
        if (!Number.isFinite(v)) problems.push(`${path}: ${String(v)} cannot be represented in JSON (it would become null)`);
        return;
      case "function":
      case "symbol":
        return void problems.push(`${path}: a ${typeof v} cannot be represented in JSON`);
      case "undefined":
        if (inArray) problems.push(`${path}: undefined in an array cannot be represented in JSON (it would become null)`);
        return;
      case "object":
        break;
      default:
        return;
    }
    if (v === null) return;
    const object = v as object;
    if (ancestors.has(object)) return void problems.push(`${path}: a circular reference cannot be represented in JSON`);
    const emptied = SILENTLY_EMPTIED.find(([type]) => object instanceof type) ?? (ArrayBuffer.isView(object) ? [ArrayBuffer, "a typed array becomes an object of indexes in JSON; return Array.from(it)"] : undefined);
    if (emptied) return void problems.push(`${path}: ${emptied[1]}`);
    ancestors.add(object);
    try {
      if (Array.isArray(object)) {
        for (let i = 0; i < object.length; i++) visit(object[i], `${path}[${i}]`, true);
      } else {
        for (const [key, child] of Object.entries(object)) {
          if (child === undefined) continue; // an absent property, as JSON has it
          visit(child, `${path}${propertyPath(key)}`, false);
        }
      }
    } finally {
      ancestors.delete(object);
    }
  };
  visit(value, root, false);
  return problems;
}

/** Throws FlowResultError (exit 1) naming every bad value's path when JSON cannot carry `result`. */
export function assertJsonResult(flowName: string, result: unknown, runId?: string): void {
  const problems = jsonProblems(result);
  if (problems.length === 0) return;
  throw new FlowResultError(`flow "${flowName}" returned a result JSON cannot carry: ${problems.join("; ")}`, {
    hint: "return plain JSON values (objects, arrays, strings, finite numbers, booleans, null)",
    runId,
  });
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
