// What a flow bundle gets when it imports "flowpack": the flow API only. The bundler points the
// "flowpack" specifier here, so a flow never drags the packagers, the Engine client or esbuild
// (and their native optional dependencies) into its bundle.
export { flow, isFlow, createContext, FLOW_BRAND, FLOW_PROTOCOL } from "./flow.js";
export { createLogger } from "./logger.js";
export { slugify, isValidFlowName, FLOW_NAME_RULE } from "./name.js";
export {
  FlowpackError,
  isFlowpackError,
  FlowRunError,
  ParameterValidationError,
  InvalidFlowError,
  InvalidFlowNameError,
} from "../errors.js";
export type { Flow, AnyFlow, FlowContext, FlowOptions, FlowFunction, FlowParameters, JsonSchema, ParameterSchema } from "./flow.js";
export type { Zod3Schema, Zod4Schema, OutputOf } from "./schema.js";
export type { Logger, LogLevel, LogFields } from "./logger.js";
