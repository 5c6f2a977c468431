import { describe, expect, it } from "vitest";
import { REDACTED, SecretSet, redactHeaders, redactText, redactUrl } from "../../../src/registry/redact.js";

describe("redactUrl", () => {
  it("drops query strings (upload state tokens), fragments and userinfo", () => {
    expect(redactUrl("https://user:pw@reg.example:5000/v2/a/blobs/uploads/uuid?_state=SECRET&digest=sha256:1#x")).toBe(
      "https://reg.example:5000/v2/a/blobs/uploads/uuid",
    );
    expect(redactUrl(new URL("http://127.0.0.1:5555/v2/"))).toBe("http://127.0.0.1:5555/v2/");
  });

  it("handles relative and unparsable URLs without throwing", () => {
    expect(redactUrl("/v2/a/blobs/uploads/uuid?_state=SECRET")).toBe("/v2/a/blobs/uploads/uuid");
    expect(redactUrl("http://user:pw@[bad/x?y")).toBe("http://[bad/x");
  });
});

describe("redactHeaders", () => {
  it("masks Authorization-like headers whatever their case, keeps the rest", () => {
    expect(
      redactHeaders({
        Authorization: "Bearer abc",
        "proxy-authorization": "Basic xyz",
        Cookie: "s=1",
        "X-Registry-Auth": "e30=",
        "content-type": "application/json",
      }),
    ).toEqual({
      Authorization: REDACTED,
      "proxy-authorization": REDACTED,
      Cookie: REDACTED,
      "X-Registry-Auth": REDACTED,
      "content-type": "application/json",
    });
  });
});

describe("redactText", () => {
  it("removes Authorization values, secret JSON fields and URL queries from free text", () => {
    const text =
      'failed: Authorization: Bearer eyJhbGciOi.abc.def; Basic dXNlcjpwYXNz; body {"token":"t0k3n","access_token":"a","password":"p"} at https://r.example/v2/x?_state=zzz';
    const out = redactText(text);
    expect(out).not.toMatch(/eyJhbGciOi|dXNlcjpwYXNz|t0k3n|_state|zzz/);
    expect(out).toContain(`Bearer ${REDACTED}`);
    expect(out).toContain("https://r.example/v2/x");
  });

  it("replaces known secrets wherever they appear", () => {
    expect(redactText("user hunter2-pw said hi", ["hunter2-pw"])).toBe(`user ${REDACTED} said hi`);
  });
});

describe("SecretSet", () => {
  it("scrubs a secret in plain, URL-encoded and base64 form", () => {
    const secrets = new SecretSet();
    secrets.add("p@ss word!", undefined, "abc"); // too short to be meaningful: ignored
    const b64 = Buffer.from("p@ss word!").toString("base64");
    const out = secrets.redact(`a p@ss word! b ${encodeURIComponent("p@ss word!")} c ${b64} abc`);
    expect(out).not.toContain("p@ss");
    expect(out).not.toContain(b64);
    expect(out).toContain(" abc");
  });
});
