import { describe, expect, it } from "vitest";
import { mergeScopes } from "../../../src/registry/auth.js";
import { parseChallenges, selectChallenge } from "../../../src/registry/challenge.js";

describe("parseChallenges", () => {
  it("parses a Docker Hub style Bearer challenge", () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull"',
    );
    expect(c).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/node:pull",
      },
    });
  });

  it("parses Basic with a realm, case-insensitively", () => {
    expect(parseChallenges('BASIC Realm="flowpack-test"')).toEqual([
      { scheme: "basic", params: { realm: "flowpack-test" } },
    ]);
  });

  it("keeps commas and escaped quotes inside quoted values", () => {
    const [c] = parseChallenges('Bearer realm="https://a.example/t",scope="repository:a/b:pull,push",error="say \\"hi\\""');
    expect(c?.params.scope).toBe("repository:a/b:pull,push");
    expect(c?.params.error).toBe('say "hi"');
  });

  it("splits several challenges in one header", () => {
    const list = parseChallenges('Basic realm="x", Bearer realm="https://t.example/token", service=reg , charset=UTF-8');
    expect(list.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(list[1]?.params).toEqual({ realm: "https://t.example/token", service: "reg", charset: "UTF-8" });
  });

  it("accepts several headers and unquoted tokens with spaces around =", () => {
    const list = parseChallenges(["Negotiate", 'Bearer realm = "https://t.example/token" , service = reg']);
    expect(list).toEqual([
      { scheme: "negotiate", params: {} },
      { scheme: "bearer", params: { realm: "https://t.example/token", service: "reg" } },
    ]);
  });

  it("parses token68 credentials", () => {
    expect(parseChallenges("Negotiate abc123==, Basic realm=r")).toEqual([
      { scheme: "negotiate", params: {}, token68: "abc123==" },
      { scheme: "basic", params: { realm: "r" } },
    ]);
  });

  it("survives empty and malformed input", () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges(' , ,Bearer realm="unterminated')).toEqual([
      { scheme: "bearer", params: { realm: "unterminated" } },
    ]);
  });

  it("prefers Bearer over Basic", () => {
    expect(selectChallenge(parseChallenges('Basic realm="x", Bearer realm="https://t/x"'))?.scheme).toBe("bearer");
    expect(selectChallenge(parseChallenges('Basic realm="x"'))?.scheme).toBe("basic");
    expect(selectChallenge(parseChallenges("Negotiate"))).toBeUndefined();
  });
});

describe("mergeScopes", () => {
  it("adds new resources first and widens actions, never asking twice for one resource", () => {
    expect(mergeScopes(["repository:a:pull,push"], ["repository:a:pull"])).toEqual(["repository:a:pull,push"]);
    expect(mergeScopes(["repository:a:pull"], ["repository:a:push"])).toEqual(["repository:a:pull,push"]);
    expect(mergeScopes(["repository:a:pull,push"], ["repository:b:pull"])).toEqual([
      "repository:b:pull",
      "repository:a:pull,push",
    ]);
    expect(mergeScopes(["repository:a:pull"], [])).toEqual(["repository:a:pull"]);
  });
});
