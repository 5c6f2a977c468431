import { describe, expect, it } from "vitest";
import { MissingFlowError, ScriptError, UnspecifiedFlowError, UsageError } from "../../src/errors.js";
import { loadFlowFromScript } from "../../src/flow/load.js";
import { fixture } from "../helpers/paths.js";

describe("loadFlowFromScript", () => {
  it("loads the only flow of a TypeScript module with local imports", async () => {
    const f = await loadFlowFromScript(fixture("flows", "with-helper.ts"));
    expect(f.name).toBe("double-it");
    await expect(f.run({ n: 21 })).resolves.toEqual({ value: 42, tags: [] });
  });

  it("picks a flow by name", async () => {
    const f = await loadFlowFromScript(fixture("flows", "two.ts"), "second");
    await expect(f.run({})).resolves.toBe(2);
  });

  it("MissingFlowError when the module defines no flows", async () => {
    const error = await loadFlowFromScript(fixture("flows", "none.mjs")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingFlowError);
    expect((error as Error).message).toMatch(/no flows found in .*none\.mjs/);
  });

  it("MissingFlowError naming the flows found when the named one is absent", async () => {
    await expect(loadFlowFromScript(fixture("flows", "two.ts"), "third")).rejects.toThrowError(
      new MissingFlowError(`flow "third" not found in ${fixture("flows", "two.ts")}; flows found: first, second`),
    );
  });

  it("UnspecifiedFlowError listing the flows when several exist and no name is given", async () => {
    const error = await loadFlowFromScript(fixture("flows", "two.ts")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnspecifiedFlowError);
    expect((error as Error).message).toContain("(first, second)");
    expect((error as UnspecifiedFlowError).hint).toBe("pass --flow NAME");
  });

  it("ScriptError with the module's own message when it throws", async () => {
    const error = await loadFlowFromScript(fixture("flows", "throws.ts")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptError);
    expect((error as Error).message).toContain("database URL is not set");
  });

  it("a missing file is a usage error", async () => {
    await expect(loadFlowFromScript(fixture("flows", "absent.ts"))).rejects.toBeInstanceOf(UsageError);
  });
});
