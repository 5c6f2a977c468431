import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { CredentialHelperError } from "../../../src/registry/errors.js";
import {
  DockerKeychain,
  dockerConfigKey,
  normalizeConfigKey,
  staticKeychain,
} from "../../../src/registry/keychain.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

let root: string;
let binDir: string;
let env: NodeJS.ProcessEnv;

/** A config dir with this config.json; returns a keychain reading it (with the fake helper on PATH). */
function keychain(config: unknown): DockerKeychain {
  const dir = mkdtempSync(join(root, "cfg-"));
  writeFileSync(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  return new DockerKeychain({ env: { ...env, DOCKER_CONFIG: dir } });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "flowpack-keychain-"));
  binDir = join(root, "bin");
  // A fake docker credential helper: knows two servers, logs what it was asked for.
  const helper = `#!/bin/sh
[ "$1" = get ] || { echo "unsupported $1" >&2; exit 2; }
read server
echo "$server" >> "${join(root, "helper.log")}"
case "$server" in
  "helper.example:5000") echo '{"ServerURL":"helper.example:5000","Username":"hal","Secret":"helper-secret"}' ;;
  "https://index.docker.io/v1/") echo '{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"hub-refresh-token"}' ;;
  "broken.example") echo 'not json at all: helper-secret'; exit 0 ;;
  "crash.example") echo 'keychain locked' >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  mkdirSync(binDir, { recursive: true });
  writeFileSync(join(binDir, "docker-credential-fake"), helper);
  chmodSync(join(binDir, "docker-credential-fake"), 0o755);
  env = { PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}`, HOME: root };
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("config key matching", () => {
  it("reduces keys to host names like docker does", () => {
    expect(normalizeConfigKey("https://127.0.0.1:5000/v2/")).toBe("127.0.0.1:5000");
    expect(normalizeConfigKey("http://Reg.Example")).toBe("reg.example");
    expect(normalizeConfigKey("https://index.docker.io/v1/")).toBe("index.docker.io");
    expect(normalizeConfigKey("registry-1.docker.io")).toBe("index.docker.io");
  });

  it("uses https://index.docker.io/v1/ for Docker Hub", () => {
    expect(dockerConfigKey("docker.io")).toBe("https://index.docker.io/v1/");
    expect(dockerConfigKey("index.docker.io")).toBe("https://index.docker.io/v1/");
    expect(dockerConfigKey("ghcr.io")).toBe("ghcr.io");
    expect(dockerConfigKey("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });
});

describe("DockerKeychain auths", () => {
  it("decodes base64 auth (passwords may contain colons)", async () => {
    const k = keychain({ auths: { "127.0.0.1:5000": { auth: b64("ann:pa:ss") } } });
    expect(await k.resolve("127.0.0.1:5000")).toEqual({
      username: "ann",
      password: "pa:ss",
      source: `docker config ${k.configPath}`,
    });
  });

  it("matches keys with a scheme and path, and Docker Hub under its v1 key", async () => {
    const k = keychain({
      auths: {
        "https://127.0.0.1:5000/v2/": { username: "u", password: "p" },
        "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
      },
    });
    expect((await k.resolve("127.0.0.1:5000"))?.username).toBe("u");
    expect((await k.resolve("docker.io"))?.username).toBe("hubuser");
    expect((await k.resolve("registry-1.docker.io"))?.password).toBe("hubpass");
    expect(await k.resolve("127.0.0.1:5001")).toBeUndefined();
  });

  it("prefers an exact key over a normalised one", async () => {
    const k = keychain({
      auths: { "https://reg.example": { auth: b64("a:1") }, "reg.example": { auth: b64("b:2") } },
    });
    expect((await k.resolve("reg.example"))?.username).toBe("b");
  });

  it("reads identitytoken and registrytoken; an empty entry is anonymous", async () => {
    const k = keychain({
      auths: { "a.example": { identitytoken: "refresh-me" }, "b.example": { registrytoken: "bearer-me" }, "c.example": {} },
    });
    expect(await k.resolve("a.example")).toMatchObject({ identityToken: "refresh-me" });
    expect(await k.resolve("b.example")).toMatchObject({ registryToken: "bearer-me" });
    expect(await k.resolve("c.example")).toBeUndefined();
  });

  it("is anonymous without a config file, and reads DOCKER_CONFIG from env", async () => {
    const empty = mkdtempSync(join(root, "none-"));
    expect(await new DockerKeychain({ env: { ...env, DOCKER_CONFIG: empty } }).resolve("x.example")).toBeUndefined();
    expect(new DockerKeychain({ env: { DOCKER_CONFIG: "/some/dir" } }).configPath).toBe("/some/dir/config.json");
    expect(new DockerKeychain({ env: { HOME: "/home/me" } }).configPath).toBe("/home/me/.docker/config.json");
  });

  it("reports a broken config by path, without its content", async () => {
    const k = keychain('{"auths": {"x": {"auth": "c2VjcmV0"}');
    await expect(k.resolve("x")).rejects.toBeInstanceOf(ConfigError);
    await expect(k.resolve("x")).rejects.toThrow(k.configPath);
    const bad = keychain({ auths: { x: { auth: b64("no-colon-secret") } } });
    const error = await bad.resolve("x").catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).not.toContain("no-colon-secret");
  });
});

describe("DockerKeychain credential helpers", () => {
  it("asks credHelpers[host] and returns its user/secret", async () => {
    const k = keychain({ credHelpers: { "helper.example:5000": "fake" }, auths: { "helper.example:5000": { auth: b64("file:user") } } });
    expect(await k.resolve("helper.example:5000")).toEqual({
      username: "hal",
      password: "helper-secret",
      source: "credential helper docker-credential-fake",
    });
  });

  it("maps a <token> user to an identity token (Docker Hub)", async () => {
    const k = keychain({ credHelpers: { "https://index.docker.io/v1/": "fake" } });
    expect(await k.resolve("docker.io")).toEqual({
      identityToken: "hub-refresh-token",
      source: "credential helper docker-credential-fake",
    });
  });

  it("treats 'credentials not found' as anonymous; credsStore falls back to auths", async () => {
    expect(await keychain({ credHelpers: { "other.example": "fake" } }).resolve("other.example")).toBeUndefined();
    const k = keychain({ credsStore: "fake", auths: { "other.example": { auth: b64("inline:pw") } } });
    expect((await k.resolve("other.example"))?.username).toBe("inline");
    expect((await k.resolve("helper.example:5000"))?.username).toBe("hal");
  });

  it("names a missing helper clearly", async () => {
    const k = keychain({ credHelpers: { "x.example": "nosuchhelper" } });
    const error = await k.resolve("x.example").catch((e: Error) => e);
    expect(error).toBeInstanceOf(CredentialHelperError);
    expect((error as Error).message).toBe(
      `docker credential helper docker-credential-nosuchhelper was not found on PATH (configured in credHelpers in ${k.configPath})`,
    );
    expect((error as CredentialHelperError).hint).toMatch(/install docker-credential-nosuchhelper/);
  });

  it("reports helper failures and bad output without echoing stdout", async () => {
    const crash = await keychain({ credHelpers: { "crash.example": "fake" } })
      .resolve("crash.example")
      .catch((e: Error) => e);
    expect(String(crash)).toMatch(/docker-credential-fake get failed with exit code 3 .*keychain locked/);
    const broken = await keychain({ credHelpers: { "broken.example": "fake" } })
      .resolve("broken.example")
      .catch((e: Error) => e);
    expect(broken).toBeInstanceOf(CredentialHelperError);
    expect(String(broken)).not.toContain("helper-secret");
  });

  it("refuses helper names that are not plain program names", async () => {
    await expect(keychain({ credHelpers: { "x.example": "../../bin/sh" } }).resolve("x.example")).rejects.toThrow(
      /invalid docker credential helper name/,
    );
  });
});

describe("staticKeychain", () => {
  it("matches like the docker config", async () => {
    const k = staticKeychain({ "https://index.docker.io/v1/": { username: "u", password: "p" } });
    expect(await k.resolve("docker.io")).toMatchObject({ username: "u", source: "credentials given to flowpack" });
    expect(await k.resolve("ghcr.io")).toBeUndefined();
  });
});
