import { MissingFlowError, UnspecifiedFlowError } from "../errors.js";
import { isFlow, type AnyFlow } from "./flow.js";

/** Every distinct flow a module exports, in export order. */
export function flowsOf(moduleNamespace: Record<string, unknown>): AnyFlow[] {
  const found: AnyFlow[] = [];
  for (const value of Object.values(moduleNamespace)) {
    if (isFlow(value) && !found.includes(value)) found.push(value);
  }
  return found;
}

/** Picks one flow by name, or the only one; the errors list what was found. */
export function pickFlow(flows: AnyFlow[], flowName: string | undefined, where: string): AnyFlow {
  const names = flows.map((f) => f.name);
  if (flowName !== undefined) {
    const match = flows.find((f) => f.name === flowName);
    if (match) return match;
    throw new MissingFlowError(
      flows.length === 0
        ? `flow "${flowName}" not found in ${where}: it defines no flows`
        : `flow "${flowName}" not found in ${where}; flows found: ${names.join(", ")}`,
      { hint: flows.length === 0 ? "export the flow: export const myFlow = flow(…)" : undefined },
    );
  }
  if (flows.length === 1) return flows[0]!;
  if (flows.length === 0) {
    throw new MissingFlowError(`no flows found in ${where}`, { hint: "export the flow: export const myFlow = flow(…)" });
  }
  throw new UnspecifiedFlowError(`${where} defines several flows (${names.join(", ")}); name the one to use`, {
    hint: "pass --flow NAME",
  });
}
