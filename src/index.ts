export { flow, isFlow, FLOW_BRAND } from "./flow/flow.js";
export type { Flow, AnyFlow, FlowContext, FlowOptions, FlowFunction, JsonSchema } from "./flow/flow.js";
