import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { daemonAddress, engineEndpoint } from "../../src/engine/endpoint.js";
import { DaemonUnreachableError } from "../../src/errors.js";

// The one reading of DOCKER_HOST: both the dockerode client (createDockerClient) and the node:http
// Engine API client (engineApi) take their endpoint from here (engine-client.test.ts checks the first
// maps it onto dockerode's fields; engine-requests.test.ts talks to a stand-in engine through both).

const certs = mkdtempSync(join(tmpdir(), "flowpack-certs-"));
for (const file of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(certs, file), `-----${file}-----\n`);
afterAll(() => rmSync(certs, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("engineEndpoint: DOCKER_HOST as the docker CLI reads it, from the given env only", () => {
  it.each([
    [{}, { socketPath: "/var/run/docker.sock" }],
    [{ DOCKER_HOST: "unix:///run/user/1000/docker.sock" }, { socketPath: "/run/user/1000/docker.sock" }],
    [{ DOCKER_HOST: "npipe:////./pipe/docker_engine" }, { socketPath: "\\\\.\\pipe\\docker_engine" }],
    [{ DOCKER_HOST: "tcp://10.1.2.3:2380" }, { host: "10.1.2.3", port: 2380 }],
    [{ DOCKER_HOST: "tcp://docker.internal" }, { host: "docker.internal", port: 2375 }],
    [{ DOCKER_HOST: "http://127.0.0.1:2375" }, { host: "127.0.0.1", port: 2375 }],
    [{ DOCKER_HOST: "tcp://[::1]" }, { host: "::1", port: 2375 }],
    [{ DOCKER_HOST: "tcp://docker.internal:2375", DOCKER_TLS_VERIFY: "" }, { host: "docker.internal", port: 2375 }],
  ])("%j → %j", (env, expected) => {
    expect(engineEndpoint(env)).toEqual(expected);
  });

  it("with DOCKER_TLS_VERIFY (any non-empty value) → port 2376 and the certificates from DOCKER_CERT_PATH", () => {
    expect(engineEndpoint({ DOCKER_HOST: "tcp://docker.internal", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs })).toEqual({
      host: "docker.internal",
      port: 2376,
      tls: { ca: Buffer.from("-----ca.pem-----\n"), cert: Buffer.from("-----cert.pem-----\n"), key: Buffer.from("-----key.pem-----\n") },
    });
  });

  it("https:// → TLS without DOCKER_TLS_VERIFY", () => {
    expect(engineEndpoint({ DOCKER_HOST: "https://docker.internal:2400", DOCKER_CERT_PATH: certs })).toMatchObject({ host: "docker.internal", port: 2400, tls: { ca: expect.any(Buffer) } });
  });

  it("follows the environment it is given, not the process's", () => {
    vi.stubEnv("DOCKER_HOST", "tcp://10.9.9.9:2376");
    vi.stubEnv("DOCKER_TLS_VERIFY", "1");
    expect(engineEndpoint({ DOCKER_HOST: "unix:///tmp/other.sock" })).toEqual({ socketPath: "/tmp/other.sock" });
    expect(engineEndpoint({})).toEqual({ socketPath: "/var/run/docker.sock" });
    expect(engineEndpoint({ DOCKER_HOST: "tcp://10.1.2.3:2375" })).toEqual({ host: "10.1.2.3", port: 2375 });
    expect(daemonAddress({})).toBe("unix:///var/run/docker.sock");
  });

  it.each(["not a url", "ssh://me@build-box", "docker.sock", "ftp://x"])("an invalid DOCKER_HOST %j is a DaemonUnreachableError with a hint", (host) => {
    let error: unknown;
    try {
      engineEndpoint({ DOCKER_HOST: host });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DaemonUnreachableError);
    expect((error as DaemonUnreachableError).message).toMatch(/^DOCKER_HOST=.* is not a daemon address$/);
    expect((error as DaemonUnreachableError).hint).toBe("use unix:///path/to/docker.sock or tcp://host:2376");
    expect((error as DaemonUnreachableError).exitCode).toBe(3);
  });

  it("names the address without credentials", () => {
    expect(() => engineEndpoint({ DOCKER_HOST: "ftp://user:secret@example.com/x" })).toThrow("DOCKER_HOST=ftp://example.com/x is not a daemon address");
    expect(() => engineEndpoint({ DOCKER_HOST: "ftp://user:secret@example.com/x" })).not.toThrow(/secret/);
    expect(() => engineEndpoint({ DOCKER_HOST: "not a url" })).toThrow("DOCKER_HOST=not a url is not a daemon address");
    expect(daemonAddress({ DOCKER_HOST: "tcp://user:secret@10.1.2.3:2376" })).not.toMatch(/secret/);
  });
});
