// Entry for the tools that do not bundle (Dockerfile recipe, containerify): load the flow module
// as-is, find the flow (by flowpack's registered brand, never instanceof), run it, print the result.
import * as flows from "./flow.mjs";

const flow = Object.values(flows).find((value) => value && value[Symbol.for("flowpack.flow")]);
if (!flow) throw new Error("flow.mjs exports no flow");
const params = JSON.parse(process.env.FLOW_PARAMS ?? "{}");
const result = await flow.run(params);
process.stdout.write(`${JSON.stringify(result)}\n`);
