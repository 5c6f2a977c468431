import { describe, expect, it } from "vitest";
import { ContainerRunError, FlowpackError, FlowRunError, ManifestError, ParameterValidationError, RegistryError, StoreError } from "../../src/errors.js";
import { errorFromRecord } from "../../src/run/error-record.js";

describe("errorFromRecord: a runner's --json error, rebuilt on the caller's side", () => {
  it("keeps class, code, exit status, message and hint", () => {
    const cases = [
      [{ code: "FLOW_FAILED", message: 'flow "f" failed: no rows' }, 1, FlowRunError],
      [{ code: "MANIFEST_INVALID", message: "FLOWPACK_MANIFEST: bad", hint: "package again" }, 2, ManifestError],
      [{ code: "STORE_OBJECT_INVALID", message: "object corrupted" }, 2, StoreError],
      [{ code: "REGISTRY_ERROR", message: "registry said no" }, 3, RegistryError],
    ] as const;
    for (const [record, exitCode, cls] of cases) {
      const error = errorFromRecord(record, "f", exitCode);
      expect(error, record.code).toBeInstanceOf(cls);
      expect(error.code).toBe(record.code);
      expect(error.exitCode).toBe(exitCode);
      expect(error.message).toBe(record.message);
      expect(error.hint).toBe("hint" in record ? record.hint : undefined);
    }
  });

  it("parameter issues come back as a ParameterValidationError with the same issues and message", () => {
    const issues = [{ path: "day", message: "required" }];
    const error = errorFromRecord({ code: "PARAMETERS_INVALID", message: "ignored", issues }, "etl", 2) as ParameterValidationError;
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(error.issues).toEqual(issues);
    expect(error.message).toBe(new ParameterValidationError("etl", issues).message);
  });

  it("a code this copy does not know keeps its code, with the class its exit status implies", () => {
    const flowFailed = errorFromRecord({ code: "SOMETHING_NEW", message: "m" }, "f", 1);
    expect([flowFailed.constructor, flowFailed.code, flowFailed.exitCode]).toEqual([FlowRunError, "SOMETHING_NEW", 1]);
    const badInput = errorFromRecord({ code: "SOMETHING_NEW", message: "m" }, "f", 2);
    expect([badInput.constructor, badInput.code, badInput.exitCode]).toEqual([FlowpackError, "SOMETHING_NEW", 2]);
    const diskFull = errorFromRecord({ code: "FS_NO_SPACE", message: "cannot write at /x: no space left (ENOSPC)" }, "f", 3);
    expect([diskFull.code, diskFull.exitCode]).toEqual(["FS_NO_SPACE", 3]);
    const other = errorFromRecord({}, "f", 139);
    expect(other).toBeInstanceOf(ContainerRunError);
    expect(other.message).toBe("the runner exited 139");
  });
});
