import { InvalidFlowNameError } from "../errors.js";

/** The rule every flow name follows; shown in errors verbatim. */
export const FLOW_NAME_RULE = "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 128 characters";
const FLOW_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export function isValidFlowName(name: string): boolean {
  return FLOW_NAME.test(name);
}

export function assertFlowName(name: string): string {
  if (!isValidFlowName(name)) {
    throw new InvalidFlowNameError(`invalid flow name ${JSON.stringify(name)}: use ${FLOW_NAME_RULE}`);
  }
  return name;
}

/** `nightlyETL_job` → `nightly-etl-job`. Used for default flow names and image repository names. */
export function slugify(value: string): string {
  return value
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/[-_.]{2,}/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
    .slice(0, 128);
}
