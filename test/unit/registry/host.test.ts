import { describe, expect, it } from "vitest";
import { ConfigError, ImageReferenceError } from "../../../src/errors.js";
import { isUrlAllowed, resolveEndpoint } from "../../../src/registry/host.js";
import { isLoopbackHostname } from "../../../src/oci/registry-host.js";
import { assertDigest, assertReference, assertRepository, repositoryScope } from "../../../src/registry/names.js";

describe("resolveEndpoint", () => {
  it("uses http only for loopback hosts", () => {
    expect(resolveEndpoint("127.0.0.1:5555")).toMatchObject({
      scheme: "http",
      origin: "http://127.0.0.1:5555",
      insecure: false,
    });
    expect(resolveEndpoint("127.8.9.10:80").scheme).toBe("http");
    expect(resolveEndpoint("localhost:5000").scheme).toBe("http");
    expect(resolveEndpoint("[::1]:5000")).toMatchObject({ scheme: "http", origin: "http://[::1]:5000" });
    expect(resolveEndpoint("ghcr.io")).toMatchObject({ scheme: "https", origin: "https://ghcr.io", insecure: false });
    expect(resolveEndpoint("10.0.0.5:5000").scheme).toBe("https");
    expect(resolveEndpoint("128.0.0.1").scheme).toBe("https");
  });

  it("uses http for a host marked insecure", () => {
    expect(resolveEndpoint("reg.internal:5000", { insecure: true })).toMatchObject({
      scheme: "http",
      origin: "http://reg.internal:5000",
      insecure: true,
    });
  });

  it("maps Docker Hub aliases to its API host, always https", () => {
    for (const name of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
      expect(resolveEndpoint(name, { insecure: true })).toMatchObject({
        name: "docker.io",
        apiHost: "registry-1.docker.io",
        origin: "https://registry-1.docker.io",
        isDockerHub: true,
      });
    }
  });

  it("rejects schemes, paths, userinfo and empty hosts", () => {
    for (const bad of ["https://ghcr.io", "ghcr.io/org", "user:pw@ghcr.io", "", "ghcr.io?x=1", "a b"]) {
      expect(() => resolveEndpoint(bad), bad).toThrow(ConfigError);
    }
    expect(() => resolveEndpoint("http://x:5000")).toThrow(/invalid registry host "http:\/\/x:5000"/);
  });
});

describe("isLoopbackHostname / isUrlAllowed", () => {
  it("knows 127.0.0.0/8, ::1, localhost", () => {
    for (const h of ["127.0.0.1", "127.255.0.9", "localhost", "LOCALHOST", "a.localhost", "::1", "[::1]", "[::ffff:7f00:1]"]) {
      expect(isLoopbackHostname(h), h).toBe(true);
    }
    for (const h of ["10.0.0.1", "localhost.example.com", "::2", "1.127.0.0", "example.com"]) {
      expect(isLoopbackHostname(h), h).toBe(false);
    }
  });

  it("allows http URLs only to loopback, or anywhere for an insecure registry", () => {
    const secure = resolveEndpoint("ghcr.io");
    expect(isUrlAllowed(new URL("https://storage.example/x"), secure)).toBe(true);
    expect(isUrlAllowed(new URL("http://storage.example/x"), secure)).toBe(false);
    expect(isUrlAllowed(new URL("http://127.0.0.1:9/x"), secure)).toBe(true);
    expect(isUrlAllowed(new URL("ftp://x/"), secure)).toBe(false);
    expect(isUrlAllowed(new URL("http://storage.example/x"), resolveEndpoint("r.internal", { insecure: true }))).toBe(true);
    // A loopback registry may use http itself, but may not send us to plain http elsewhere.
    expect(isUrlAllowed(new URL("http://storage.example/x"), resolveEndpoint("127.0.0.1:5000"))).toBe(false);
  });
});

describe("names", () => {
  it("accepts valid repositories and rejects path tricks", () => {
    for (const ok of ["app", "org/app", "a.b/c_d/e__f/g-h", "a--b"]) expect(() => assertRepository(ok)).not.toThrow();
    for (const bad of ["", "App", "a/../b", "a//b", "/a", "a/", "a?b", "a:b", "-a", "a b"]) {
      expect(() => assertRepository(bad), bad).toThrow(ImageReferenceError);
    }
  });

  it("tells tags from digests", () => {
    expect(assertReference("latest")).toBe("tag");
    expect(assertReference(`sha256:${"a".repeat(64)}`)).toBe("digest");
    expect(() => assertReference("../x")).toThrow(ImageReferenceError);
    expect(() => assertReference(`sha256:${"A".repeat(64)}`)).toThrow(ImageReferenceError);
    expect(() => assertDigest("sha256:abc")).toThrow(/invalid digest/);
  });

  it("builds token scopes", () => {
    expect(repositoryScope("org/app", "pull")).toBe("repository:org/app:pull");
    expect(repositoryScope("org/app", "push")).toBe("repository:org/app:pull,push");
  });
});

describe("an explicit https on loopback", () => {
  it("speaks https to a loopback host when asked to (secure), http otherwise", () => {
    expect(resolveEndpoint("localhost:5443").origin).toBe("http://localhost:5443");
    expect(resolveEndpoint("localhost:5443", { secure: true }).origin).toBe("https://localhost:5443");
    expect(resolveEndpoint("127.0.0.1:5443", { secure: true }).scheme).toBe("https");
  });
});
