import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { layoutEnv, resolveEnv, withProcessEnv } from "../../src/_internal/env-vars.js";
import { FileSystemPathError, UsageError } from "../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "flowpack-env-vars-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("resolveEnv: --env and --env-file", () => {
  it("reads dotenv files (comments, quotes, export) in order, then pairs; a later one wins", async () => {
    const a = file("a.env", `# settings\nexport DATABASE_URL="postgres://u:p@db/x"\nMODE=a # trailing\nMULTI="one\ntwo"\n`);
    const b = file("b.env", "MODE=b\nEMPTY=\n");
    expect(await resolveEnv({ files: [a, b], pairs: ["TOKEN=x=y", "MODE=pair", "TOKEN=last"] }, {})).toEqual({
      DATABASE_URL: "postgres://u:p@db/x",
      MODE: "pair",
      MULTI: "one\ntwo",
      EMPTY: "",
      TOKEN: "last",
    });
  });

  it("KEY alone takes its value from the given environment, and is refused (without any value) when unset there", async () => {
    expect(await resolveEnv({ pairs: ["API_KEY"] }, { API_KEY: "k" })).toEqual({ API_KEY: "k" });
    const error = await resolveEnv({ pairs: ["API_KEY"] }, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe("--env API_KEY: API_KEY is not set in this environment");
  });

  it("refuses names no environment can hold, and names a missing file", async () => {
    await expect(resolveEnv({ pairs: ["=v"] }, {})).rejects.toThrow('--env: "" is not a variable name');
    await expect(resolveEnv({ pairs: ["1X=v"] }, {})).rejects.toThrow(UsageError);
    await expect(resolveEnv({ files: [join(dir, "absent.env")] }, {})).rejects.toBeInstanceOf(FileSystemPathError);
  });
});

describe("layoutEnv: what a run from an OCI layout sees", () => {
  it("a minimal set from here, then the image's Env, then what was passed; nothing else", () => {
    const host = { PATH: "/usr/bin", HOME: "/home/me", AWS_SECRET_ACCESS_KEY: "no", DOCKER_HOST: "unix:///x", NODE_ENV: "development" };
    expect(layoutEnv(["NODE_ENV=production", "FLOWPACK_FLOW_NAME=db", "PATH=/image/bin"], { DATABASE_URL: "d" }, host)).toEqual({
      PATH: "/image/bin",
      HOME: "/home/me",
      NODE_ENV: "production",
      FLOWPACK_FLOW_NAME: "db",
      DATABASE_URL: "d",
    });
  });
});

describe("withProcessEnv", () => {
  it("replace: only the given variables while the work runs, all restored afterwards, also on failure", async () => {
    process.env.FP_UNIT_HOST = "here";
    const seen = await withProcessEnv("replace", { FP_UNIT_FLOW: "flow" }, async () => ({ ...process.env }));
    expect(seen).toEqual({ FP_UNIT_FLOW: "flow" });
    expect(process.env.FP_UNIT_HOST).toBe("here");
    expect(process.env.FP_UNIT_FLOW).toBeUndefined();
    await expect(withProcessEnv("replace", {}, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(process.env.FP_UNIT_HOST).toBe("here");
    delete process.env.FP_UNIT_HOST;
  });

  it("inherit: this environment plus the given variables; overlapping runs take turns", async () => {
    process.env.FP_UNIT_HOST = "here";
    const order: string[] = [];
    const first = withProcessEnv("inherit", { FP_UNIT_FLOW: "1" }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push(`first:${process.env.FP_UNIT_FLOW}:${process.env.FP_UNIT_HOST}`);
    });
    const second = withProcessEnv("replace", { FP_UNIT_FLOW: "2" }, async () => {
      order.push(`second:${process.env.FP_UNIT_FLOW}:${process.env.FP_UNIT_HOST}`);
    });
    await Promise.all([first, second]);
    expect(order).toEqual(["first:1:here", "second:2:undefined"]);
    expect(process.env.FP_UNIT_FLOW).toBeUndefined();
    delete process.env.FP_UNIT_HOST;
  });
});

describe("withProcessEnv, nested", () => {
  it("a call from inside another's work runs at once, on top of the outer environment, and both are undone", async () => {
    const inner = await withProcessEnv("replace", { FP_UNIT_OUTER: "o" }, () =>
      withProcessEnv("inherit", { FP_UNIT_INNER: "i" }, async () => ({ outer: process.env.FP_UNIT_OUTER, inner: process.env.FP_UNIT_INNER })),
    );
    expect(inner).toEqual({ outer: "o", inner: "i" });
    expect(process.env.FP_UNIT_OUTER).toBeUndefined();
    expect(process.env.FP_UNIT_INNER).toBeUndefined();
  });
});
