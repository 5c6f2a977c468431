import { describe, expect, it } from "vitest";
import { withStopSignals } from "../../src/_internal/stop.js";

/** The listeners withStopSignals added for `name` (called directly: emitting a real signal would reach the test runner's own). */
const added = (name: "SIGINT" | "SIGTERM", before: readonly unknown[]) => process.listeners(name).filter((listener) => !before.includes(listener)) as (() => void)[];

describe("withStopSignals: the signal handling of `flowpack run`, single and --each", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("%s aborts the work's signal with the signal's name as reason", async (name) => {
    const before = process.listeners(name);
    const reason = await withStopSignals(async (signal) => {
      expect(signal.aborted).toBe(false);
      const [listener] = added(name, before);
      listener!();
      return signal.reason as unknown;
    });
    expect(reason).toBe(name);
  });

  it("a second signal does not throw or change the reason; listeners go away when the work ends, also when it fails", async () => {
    const int = process.listeners("SIGINT");
    const term = process.listeners("SIGTERM");
    const error = await withStopSignals(async (signal) => {
      expect(added("SIGINT", int)).toHaveLength(1);
      expect(added("SIGTERM", term)).toHaveLength(1);
      added("SIGINT", int)[0]!();
      added("SIGTERM", term)[0]!();
      expect(signal.reason).toBe("SIGINT");
      throw new Error("the run failed");
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("the run failed");
    expect(added("SIGINT", int)).toEqual([]);
    expect(added("SIGTERM", term)).toEqual([]);
  });
});
