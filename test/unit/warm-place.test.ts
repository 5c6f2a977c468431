import { chmodSync, mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runsInCi } from "../../src/_internal/ci.js";
import { servedWarm, warmChoice } from "../../src/cli/warm/names.js";
import { warmPlace } from "../../src/cli/warm/place.js";
import { parseAnswer, parseRequest } from "../../src/cli/warm/protocol.js";

const entry = join(tmpdir(), "no-such-cli.mjs");

describe("which warm process an invocation may use", () => {
  const cache = mkdtempSync(join(tmpdir(), "flowpack-warm-place-"));
  const env = { FLOWPACK_CACHE_DIR: cache, TOKEN: "one", OLDPWD: "/a", SHLVL: "1", _: "/usr/bin/flowpack" };

  it("is named by folder and environment, values included; shell bookkeeping does not count", () => {
    const place = warmPlace(env, "/project", entry)!;
    expect(place.socket).toBe(join(cache, "warm", `${place.key.slice(0, 32)}.sock`));
    expect(warmPlace({ ...env, OLDPWD: "/b", SHLVL: "2", _: "/bin/other" }, "/project", entry)!.key).toBe(place.key);
    expect(warmPlace({ ...env, TOKEN: "two" }, "/project", entry)!.key).not.toBe(place.key);
    expect(warmPlace({ ...env, EXTRA: "" }, "/project", entry)!.key).not.toBe(place.key);
    expect(warmPlace(env, "/other", entry)!.key).not.toBe(place.key);
    expect(place.socket).not.toContain("one"); // salted hash: the name tells nothing
  });

  it("is not used where others could answer in flowpack's name (a folder group or others may write to) or the socket path is too long", () => {
    const shared = mkdtempSync(join(tmpdir(), "flowpack-warm-shared-"));
    mkdirSync(join(shared, "warm"), { mode: 0o700 });
    chmodSync(join(shared, "warm"), 0o770);
    expect(warmPlace({ FLOWPACK_CACHE_DIR: shared }, "/project", entry)).toBeUndefined();
    expect(warmPlace({ FLOWPACK_CACHE_DIR: join(cache, "x".repeat(80)) }, "/project", entry)).toBeUndefined();
  });

  it("is not used on Windows (no owner-only folders to check; sockets there are named pipes)", () => {
    expect(warmPlace({ FLOWPACK_CACHE_DIR: cache }, "/project", entry)).toBeDefined();
    const platform = Object.getOwnPropertyDescriptor(process, "platform")!;
    Object.defineProperty(process, "platform", { value: "win32" });
    try {
      expect(warmPlace({ FLOWPACK_CACHE_DIR: cache }, "/project", entry)).toBeUndefined();
    } finally {
      Object.defineProperty(process, "platform", platform);
    }
  });
});

describe("what the CLI hands to a warm process", () => {
  it("one-shot package only", () => {
    expect(servedWarm(["package", "flow.ts"])).toBe(true);
    expect(servedWarm(["--json", "package", "flow.ts", "-q"])).toBe(true);
    expect(servedWarm(["package", "flow.ts", "--watch"])).toBe(false);
    expect(servedWarm(["package", "-w", "flow.ts"])).toBe(false);
    expect(servedWarm(["package", "--help"])).toBe(false);
    expect(servedWarm(["package", "flow.ts", "-qw"])).toBe(false); // short flags together
    expect(servedWarm(["package", "flow.ts", "-h"])).toBe(false);
    expect(servedWarm(["package", "flow.ts", "-q", "-o", "m.json"])).toBe(true);
    expect(servedWarm(["run", "m.json"])).toBe(false);
    expect(servedWarm(["warm", "status"])).toBe(false);
  });

  it("warm processes by default at a terminal outside CI; FLOWPACK_WARM decides either way; another value is named", () => {
    expect(warmChoice({}, true)).toEqual({ warm: true, byDefault: true });
    expect(warmChoice({}, false)).toEqual({ warm: false, byDefault: true }); // a pipe, a file: a script, cron, an image build
    expect(warmChoice({ CI: "true" }, true)).toEqual({ warm: false, byDefault: true });
    expect(warmChoice({ FLOWPACK_WARM: "" }, true)).toEqual({ warm: true, byDefault: true });
    for (const on of ["1", "true", "ON", " yes "]) {
      expect(warmChoice({ FLOWPACK_WARM: on, CI: "true" }, false), on).toEqual({ warm: true, byDefault: false });
    }
    for (const off of ["0", "false", "Off", "no"]) expect(warmChoice({ FLOWPACK_WARM: off }, true), off).toEqual({ warm: false, byDefault: false });
    expect(warmChoice({ FLOWPACK_WARM: "please" }, true)).toEqual({ warm: true, byDefault: true, invalid: "please" });
    expect(warmChoice({ FLOWPACK_WARM: "please", CI: "1" }, true)).toEqual({ warm: false, byDefault: true, invalid: "please" });
  });

  it("CI is told by CI (not \"false\" or \"0\") or a CI service's own variable", () => {
    expect(runsInCi({})).toBe(false);
    for (const ci of ["true", "1", "woodpecker"]) expect(runsInCi({ CI: ci }), ci).toBe(true);
    for (const ci of ["false", "0", "", " FALSE "]) expect(runsInCi({ CI: ci }), ci).toBe(false);
    expect(runsInCi({ TF_BUILD: "True" })).toBe(true);
    expect(runsInCi({ JENKINS_URL: "http://ci.example/" })).toBe(true);
    expect(runsInCi({ JENKINS_HOME: "/var/lib/jenkins" })).toBe(true);
    expect(runsInCi({ CONTINUOUS_INTEGRATION: "false", TF_BUILD: "" })).toBe(false);
    expect(runsInCi({ CI: "false", JENKINS_URL: "http://ci.example/" })).toBe(false); // said outright
  });
});

describe("the socket's messages", () => {
  it("a request is checked field by field", () => {
    const good = { kind: "build", key: "k", argv: ["package", "f.ts"], stdout: { tty: true, columns: 80 }, stderr: { tty: false } };
    expect(parseRequest(JSON.stringify(good))).toEqual(good);
    expect(parseRequest(JSON.stringify({ kind: "stop" }))).toEqual({ kind: "stop" });
    for (const bad of [
      "not json",
      "[]",
      JSON.stringify({ ...good, argv: ["package", 1] }),
      JSON.stringify({ ...good, key: undefined }),
      JSON.stringify({ ...good, stdout: { tty: "yes" } }),
      JSON.stringify({ ...good, stderr: { tty: true, columns: -1 } }),
      JSON.stringify({ kind: "exec", argv: [] }),
    ]) {
      expect(parseRequest(bad)).toBeUndefined();
    }
  });

  it("an answer too", () => {
    expect(parseAnswer(JSON.stringify({ kind: "exit", code: 2 }))).toEqual({ kind: "exit", code: 2 });
    expect(parseAnswer(JSON.stringify({ kind: "out", fd: 2, text: "x" }))).toEqual({ kind: "out", fd: 2, text: "x" });
    expect(parseAnswer(JSON.stringify({ kind: "exit", code: 300 }))).toBeUndefined();
    expect(parseAnswer(JSON.stringify({ kind: "out", fd: 3, text: "x" }))).toBeUndefined();
    expect(parseAnswer(JSON.stringify({ kind: "accepted", pid: "1" }))).toBeUndefined();
    expect(parseAnswer(JSON.stringify({ kind: "status", pid: 1, cwd: "/", builds: 0, startedAt: 1, lastUsedAt: 1 }))).toBeUndefined();
  });
});
