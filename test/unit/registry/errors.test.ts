import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RegistryAuthError, RegistryError, RegistryUnreachableError } from "../../../src/registry/errors.js";
import { networkError, type HttpResponse } from "../../../src/registry/http.js";
import { SecretSet } from "../../../src/registry/redact.js";
import { errorFromResponse, parseErrorBody, type ErrorContext } from "../../../src/registry/response-error.js";

function response(status: number, body: string, url = "http://127.0.0.1:5000/v2/app/blobs/uploads/u?_state=SECRETSTATE"): HttpResponse {
  return {
    status,
    headers: {},
    url: new URL(url),
    body: Readable.from([Buffer.from(body)]) as unknown as HttpResponse["body"],
  };
}

function context(overrides: Partial<ErrorContext> = {}): ErrorContext {
  const secrets = new SecretSet();
  secrets.add("hunter2-password");
  return {
    registry: "127.0.0.1:5000",
    origin: "http://127.0.0.1:5000",
    method: "PUT",
    target: "registry 127.0.0.1:5000",
    repository: "app",
    action: "push",
    secrets,
    ...overrides,
  };
}

describe("parseErrorBody", () => {
  it("reads the spec's error codes and messages", () => {
    expect(
      parseErrorBody('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:1"},{"code":"DENIED"}]}'),
    ).toEqual({ codes: ["BLOB_UNKNOWN", "DENIED"], summary: "BLOB_UNKNOWN: blob unknown to registry (sha256:1); DENIED" });
  });

  it("falls back to a short excerpt for other bodies", () => {
    expect(parseErrorBody("<html><body><h1>502 Bad Gateway</h1></body></html>")).toEqual({
      codes: [],
      summary: "502 Bad Gateway",
    });
    expect(parseErrorBody('{"message":"nope"}').codes).toEqual([]);
    expect(parseErrorBody("x".repeat(500)).summary.length).toBeLessThanOrEqual(201);
  });
});

describe("errorFromResponse", () => {
  it("gives status, codes and the path without the query string", async () => {
    const error = await errorFromResponse(
      response(400, '{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}'),
      context(),
    );
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.status).toBe(400);
    expect(error.registryCodes).toEqual(["DIGEST_INVALID"]);
    expect(error.message).toBe(
      "registry 127.0.0.1:5000: PUT /v2/app/blobs/uploads/u answered 400 Bad Request: DIGEST_INVALID: provided digest did not match uploaded content",
    );
    expect(error.message).not.toContain("SECRETSTATE");
  });

  it("401 without credentials says to docker login, naming registry and repository", async () => {
    const error = await errorFromResponse(
      response(401, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'),
      context({ keychain: "/home/me/.docker/config.json" }),
    );
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toBe(
      "registry 127.0.0.1:5000 requires authentication to push to app, and no credentials were found for 127.0.0.1:5000 (401: UNAUTHORIZED: authentication required)",
    );
    expect(error.hint).toContain('run "docker login 127.0.0.1:5000"');
    expect(error.hint).toContain("/home/me/.docker/config.json");
  });

  it("401 with credentials names their source; 403 says access was denied; secrets echoed by the server are removed", async () => {
    const rejected = await errorFromResponse(
      response(401, '{"errors":[{"code":"UNAUTHORIZED","message":"bad password hunter2-password"}]}'),
      context({ credentialSource: "docker config /tmp/c/config.json" }),
    );
    expect(rejected.message).toMatch(/^registry 127.0.0.1:5000 rejected the credentials from docker config \/tmp\/c\/config.json/);
    expect(rejected.message).not.toContain("hunter2-password");
    const denied = await errorFromResponse(response(403, ""), context({ credentialSource: "x", action: "pull" }));
    expect(denied).toBeInstanceOf(RegistryAuthError);
    expect(denied.message).toBe("registry 127.0.0.1:5000 denied access: cannot pull from app with the credentials from x (403)");
  });
});

describe("networkError", () => {
  const url = new URL("http://127.0.0.1:1/v2/app/blobs/uploads/u?_state=SECRETSTATE");
  const error = (code: string, message = `boom ${code}`): Error => Object.assign(new Error(message), { code });

  it("says 'cannot reach registry HOST' for refused connections and unknown hosts", () => {
    const refused = networkError(error("ECONNREFUSED"), "registry 127.0.0.1:1", "GET", url);
    expect(refused).toBeInstanceOf(RegistryUnreachableError);
    expect(refused.message).toBe("cannot reach registry 127.0.0.1:1: connection refused");
    const dns = networkError(
      Object.assign(new Error("fetch failed"), { cause: error("ENOTFOUND", "getaddrinfo ENOTFOUND nope.invalid") }),
      "registry nope.invalid",
      "GET",
      url,
    );
    expect(dns.message).toBe("cannot reach registry nope.invalid: host name not found (DNS lookup failed)");
    expect((dns as RegistryUnreachableError).errno).toBe("ENOTFOUND");
  });

  it("describes broken connections with the redacted request, and TLS problems with a hint", () => {
    const reset = networkError(error("UND_ERR_SOCKET"), "registry 127.0.0.1:1", "PUT", url);
    expect(reset.message).toBe(
      "registry 127.0.0.1:1: the connection was closed by the other side during PUT /v2/app/blobs/uploads/u",
    );
    const tls = networkError(error("ERR_SSL_WRONG_VERSION_NUMBER"), "registry r.example", "GET", url);
    expect((tls as RegistryUnreachableError).hint).toMatch(/insecure/);
  });

  it("never leaks a query string from an undici message", () => {
    const odd = networkError(new Error(`weird failure at ${url.href} Bearer abcdefgh`), "registry x", "GET", url);
    expect(odd.message).not.toContain("SECRETSTATE");
    expect(odd.message).not.toContain("abcdefgh");
    expect(String((odd as Error & { cause: Error }).cause.message)).not.toContain("SECRETSTATE");
  });
});
