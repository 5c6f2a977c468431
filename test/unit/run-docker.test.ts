import { describe, expect, it } from "vitest";
import { isValidFlowName } from "../../src/flow/name.js";
import { formatReference, parseReference } from "../../src/oci/reference.js";
import { runImageName } from "../../src/run/docker.js";

describe("runImageName", () => {
  it.each([
    ["hello", "flowpack/hello:run"],
    ["etl_", "flowpack/etl:run"],
    ["a.-b", "flowpack/a-b:run"],
    ["nightly__etl", "flowpack/nightly-etl:run"],
  ])("names the image of flow %s as the packager would, a valid reference: %s", (flowName, expected) => {
    expect(isValidFlowName(flowName)).toBe(true);
    const name = runImageName(flowName);
    expect(name).toBe(expected);
    expect(formatReference(parseReference(name))).toBe(`docker.io/${expected}`);
  });
});
