import { readFile } from "node:fs/promises";
import { fileSystemError } from "../_internal/fs-errors.js";
import { ParameterValidationError, UsageError, type ParameterIssue } from "../errors.js";
import type { JsonSchema } from "../flow/flow.js";
import type { Parameters } from "./parameters.js";
import { validateAgainstSchema } from "./validate.js";

/** One parameter set of a fan-out: its 0-based index among the sets and the line it came from. */
export interface ParamSet {
  index: number;
  line: number;
  params: Parameters;
}

/**
 * The parameter sets of a fan-out (`--each params.jsonl`): one JSON object per line, blank lines
 * and lines starting with `#` skipped. Every set is checked against the flow's schema before
 * anything runs; all bad lines are reported at once (`line N: …`), so nothing starts from a file
 * that is partly wrong.
 */
export async function readParamSets(file: string, flowName: string, schema: JsonSchema, source = "manifest"): Promise<ParamSet[]> {
  let text: string;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`--each ${file}: no such file`);
    throw fileSystemError(error, file, { action: "read the parameter sets", owner: "user" });
  }
  return parseParamSets(text, file, flowName, schema, source);
}

/** As readParamSets, from the file's text; `label` names the file in errors. */
export async function parseParamSets(text: string, label: string, flowName: string, schema: JsonSchema, source = "manifest"): Promise<ParamSet[]> {
  const sets: ParamSet[] = [];
  const issues: ParameterIssue[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      issues.push({ path: `line ${line}`, message: `not valid JSON: ${(error as Error).message}` });
      continue;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      issues.push({ path: `line ${line}`, message: "expected a JSON object of parameters" });
      continue;
    }
    const bad = await paramSetIssues(flowName, schema, [{ label: `line ${line}`, params: parsed as Parameters }], source);
    if (bad.length > 0) issues.push(...bad);
    else sets.push({ index: sets.length, line, params: parsed as Parameters });
  }
  if (issues.length > 0) {
    throw new ParameterValidationError(flowName, issues, { hint: `fix the lines named in ${label}; nothing was run` });
  }
  if (sets.length === 0) throw new UsageError(`${label}: no parameter sets (one JSON object per line)`);
  return sets;
}

/**
 * Every set checked against the flow's schema: the issues of all of them, each path prefixed by
 * its set's label (`line 3: day`), in order. Errors other than bad parameters are thrown.
 */
export async function paramSetIssues(flowName: string, schema: JsonSchema, sets: { label: string; params: Parameters }[], source = "manifest"): Promise<ParameterIssue[]> {
  const issues: ParameterIssue[] = [];
  for (const { label, params } of sets) {
    try {
      await validateAgainstSchema(flowName, params, schema, source);
    } catch (error) {
      if (!(error instanceof ParameterValidationError)) throw error;
      for (const issue of error.issues) issues.push({ path: issue.path ? `${label}: ${issue.path}` : label, message: issue.message });
    }
  }
  return issues;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
