import { describe, expect, it } from "vitest";
import * as errors from "../../src/errors.js";
import * as api from "../../src/index.js";
import * as registryErrors from "../../src/registry/errors.js";

describe("the public API", () => {
  it("exports every error class flowpack raises, so callers can catch them by class", () => {
    const classes = Object.entries({ ...errors, ...registryErrors }).filter(
      ([, value]) => typeof value === "function" && (value === errors.FlowpackError || value.prototype instanceof errors.FlowpackError),
    );
    expect(classes.length).toBeGreaterThan(30);
    for (const [name, value] of classes) expect((api as Record<string, unknown>)[name], name).toBe(value);
  });

  it("exports values by name, and nothing internal (brands, zod schemas, the store class)", () => {
    const values = Object.keys(api).sort();
    for (const internal of ["FLOW_BRAND", "FLOW_PROTOCOL", "manifestSchema", "ContentStore", "BUNDLE_FILE"]) expect(values).not.toContain(internal);
    for (const name of ["flow", "loadFlowFromScript", "bundleFlow", "FilePackager", "DockerPackager", "unpackage", "runManifest", "runFlow", "parseManifest", "kubernetesJob", "kubernetesJobYaml"]) {
      expect(values).toContain(name);
    }
  });
});
