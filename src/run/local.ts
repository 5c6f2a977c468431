import { randomUUID } from "node:crypto";
import { FlowRunError, isFlowpackError } from "../errors.js";
import type { AnyFlow } from "../flow/flow.js";

export interface RunRecord {
  flowName: string;
  runId: string;
  status: "completed";
  result: unknown;
  durationMs: number;
}

/**
 * Runs a loaded flow in this process. Invalid parameters raise ParameterValidationError (exit 2);
 * anything the flow itself throws becomes FlowRunError (exit 1) carrying its message.
 */
export async function runFlow(flow: AnyFlow, params: Record<string, unknown>, runId: string = randomUUID()): Promise<RunRecord> {
  flow.validateParameters(params);
  const started = performance.now();
  let result: unknown;
  try {
    result = await flow.run(params, { runId });
  } catch (error) {
    if (isFlowpackError(error) && error.code === "PARAMETERS_INVALID") throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new FlowRunError(`flow "${flow.name}" failed: ${message}`, { cause: error });
  }
  return {
    flowName: flow.name,
    runId,
    status: "completed",
    result: result === undefined ? null : result,
    durationMs: Math.round(performance.now() - started),
  };
}
