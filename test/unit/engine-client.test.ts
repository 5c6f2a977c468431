import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDockerClient } from "../../src/engine/client.js";
import { engineAuthConfig } from "../../src/engine/push.js";
import { DaemonUnreachableError } from "../../src/errors.js";

interface ModemFields {
  socketPath?: string | (() => Promise<string>);
  host?: string;
  port?: number | string;
  protocol?: string;
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
}
const modem = (docker: Docker) => docker.modem as unknown as ModemFields;

const certs = mkdtempSync(join(tmpdir(), "flowpack-certs-"));
for (const file of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(certs, file), `-----${file}-----\n`);
afterAll(() => rmSync(certs, { recursive: true, force: true }));

describe("engineAuthConfig", () => {
  it("is undefined without credentials", () => {
    expect(engineAuthConfig(undefined, "ghcr.io")).toBeUndefined();
  });

  it("sends username and password", () => {
    expect(engineAuthConfig({ username: "me", password: "pw", source: "docker config" }, "127.0.0.1:5000")).toEqual({
      username: "me",
      password: "pw",
      serveraddress: "127.0.0.1:5000",
    });
  });

  it("sends an identity token instead of a username and password", () => {
    expect(engineAuthConfig({ username: "<token>", password: "x", identityToken: "refresh-123", source: "helper" }, "ghcr.io")).toEqual({
      identitytoken: "refresh-123",
      serveraddress: "ghcr.io",
    });
  });

  it("sends a registry token as is", () => {
    expect(engineAuthConfig({ registryToken: "bearer-abc", source: "env" }, "ghcr.io")).toEqual({
      registrytoken: "bearer-abc",
      serveraddress: "ghcr.io",
    });
  });

  it("sends empty strings for a credential without username or password", () => {
    expect(engineAuthConfig({ source: "docker config" }, "ghcr.io")).toEqual({ username: "", password: "", serveraddress: "ghcr.io" });
  });
});

describe("createDockerClient: dockerode configured from engineEndpoint (engine-endpoint.test.ts reads DOCKER_HOST)", () => {
  beforeEach(() => {
    // dockerode's modem reads these from process.env for every field not given: none may leak into a client built for another environment.
    for (const name of ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_PATH_PREFIX"]) vi.stubEnv(name, undefined);
    vi.stubEnv("DOCKER_HOST", "tcp://10.9.9.9:2376");
    vi.stubEnv("DOCKER_TLS_VERIFY", "1");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("a socket → socketPath only, whatever the process's DOCKER_HOST says", () => {
    expect(modem(createDockerClient({}))).toMatchObject({ socketPath: "/var/run/docker.sock", host: undefined });
    expect(modem(createDockerClient({ DOCKER_HOST: "unix:///tmp/other.sock" }))).toMatchObject({ socketPath: "/tmp/other.sock", host: undefined });
  });

  it("tcp:// without TLS → plain http to host and port, no certificates", () => {
    const m = modem(createDockerClient({ DOCKER_HOST: "tcp://10.1.2.3:2380" }));
    expect(m).toMatchObject({ host: "10.1.2.3", port: 2380, protocol: "http" });
    expect(m.socketPath).toBeUndefined();
    expect(m.ca).toBeUndefined();
    expect(m.cert).toBeUndefined();
    expect(m.key).toBeUndefined();
  });

  it("tcp:// with DOCKER_TLS_VERIFY → https with the certificates from DOCKER_CERT_PATH", () => {
    const m = modem(createDockerClient({ DOCKER_HOST: "tcp://docker.internal", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs }));
    expect(m).toMatchObject({ host: "docker.internal", port: 2376, protocol: "https" });
    expect(String(m.ca)).toBe("-----ca.pem-----\n");
    expect(String(m.cert)).toBe("-----cert.pem-----\n");
    expect(String(m.key)).toBe("-----key.pem-----\n");
  });

  it("an invalid DOCKER_HOST is refused before any client is made", () => {
    expect(() => createDockerClient({ DOCKER_HOST: "ftp://user:secret@example.com/x" })).toThrow(DaemonUnreachableError);
  });

  it("talks to the daemon at a tcp:// address (a local stand-in answering /_ping)", async () => {
    const paths: string[] = [];
    const server = createServer((request, response) => {
      paths.push(request.url ?? "");
      response.writeHead(200, { "content-type": "text/plain" }).end("OK");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      vi.stubEnv("DOCKER_HOST", "unix:///nonexistent/docker.sock");
      const { port } = server.address() as AddressInfo;
      const answer: unknown = await createDockerClient({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }).ping();
      expect(String(answer)).toBe("OK");
      expect(paths).toEqual(["/_ping"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
