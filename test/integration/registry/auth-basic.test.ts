/** Basic auth against the real htpasswd registry (FLOWPACK_TEST_AUTH_REGISTRY), credentials from a temp docker config. */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DockerKeychain } from "../../../src/registry/keychain.js";
import { RegistryAuthError } from "../../../src/registry/errors.js";
import { RegistryClient } from "../../../src/registry/client.js";
import { services } from "../../helpers/services.js";
import { basicAuth, dockerConfigDir, fastRetry, randomImage, tempDir, uniqueRepo, type TempDir } from "./_fixtures.js";

const s = services();
const host = s.FLOWPACK_TEST_AUTH_REGISTRY;
const user = s.FLOWPACK_TEST_AUTH_USER;
const password = s.FLOWPACK_TEST_AUTH_PASSWORD;
const dirs: TempDir[] = [];

function clientWithConfig(config: unknown, env: NodeJS.ProcessEnv = {}): RegistryClient {
  const dir = dockerConfigDir(config);
  dirs.push(dir);
  return new RegistryClient({
    host,
    keychain: new DockerKeychain({ env: { ...process.env, ...env, DOCKER_CONFIG: dir.path } }),
    retry: fastRetry,
  });
}

afterAll(() => {
  for (const dir of dirs) dir.remove();
});

describe("Basic auth (htpasswd registry)", () => {
  it("ping reports basic auth", async () => {
    await expect(clientWithConfig({}).ping()).resolves.toMatchObject({ auth: "basic" });
  });

  it("pushes and pulls with the right password from auths (base64 auth)", async () => {
    const c = clientWithConfig({ auths: { [host]: { auth: basicAuth(user, password) } } });
    const repo = uniqueRepo("basic");
    const image = randomImage([4096]);
    const result = await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect(result.digest).toBe(image.digest);
    expect((await c.getManifest(repo, "v1")).digest).toBe(image.digest);
    expect((await c.getBlob(repo, image.layers[0]!.digest)).length).toBe(4096);
  });

  it("pushes with credentials from a credential helper on PATH, under an https:// key", async () => {
    const bin = tempDir("cred-bin");
    dirs.push(bin);
    mkdirSync(bin.path, { recursive: true });
    const helper = join(bin.path, "docker-credential-fake");
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\n[ "$server" = "${host}" ] || { echo "credentials not found in native keychain"; exit 1; }\n` +
        `printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" '${user}' '${password}'\n`,
    );
    chmodSync(helper, 0o755);
    const c = clientWithConfig(
      { credHelpers: { [`https://${host}`]: "fake" } },
      { PATH: `${bin.path}${delimiter}${process.env.PATH ?? ""}` },
    );
    const repo = uniqueRepo("helper");
    const image = randomImage([100]);
    await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect((await c.headManifest(repo, "v1"))?.digest).toBe(image.digest);
  });

  it("a wrong password is a RegistryAuthError that names the registry and repository but no secret", async () => {
    const wrong = `${password}-wrong`;
    const encoded = basicAuth(user, wrong);
    const c = clientWithConfig({ auths: { [host]: { auth: encoded } } });
    const repo = uniqueRepo("wrong");
    const error = await c.pushBlob(repo, randomImage([10]).layers[0]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    const auth = error as RegistryAuthError;
    expect(auth.status).toBe(401);
    expect(auth.code).toBe("REGISTRY_UNAUTHORIZED");
    expect(auth.message).toContain(`registry ${host} rejected the credentials from docker config`);
    expect(auth.message).toContain(repo);
    expect(auth.hint).toContain(`docker login ${host}`);
    const everything = `${auth.message} ${auth.hint} ${String(auth.stack)} ${JSON.stringify(auth)}`;
    for (const secret of [wrong, encoded, password, basicAuth(user, password)]) expect(everything).not.toContain(secret);
  });

  it("no credentials: RegistryAuthError telling to docker login", async () => {
    const c = clientWithConfig({ auths: {} });
    const repo = uniqueRepo("anon");
    const error = await c.getManifest(repo, "latest").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toBe(
      `registry ${host} requires authentication to pull from ${repo}, and no credentials were found for ${host} (401: UNAUTHORIZED: authentication required)`,
    );
    expect((error as RegistryAuthError).hint).toMatch(new RegExp(`^run "docker login ${host.replace(/\./g, "\\.")}"`));
  });
});
