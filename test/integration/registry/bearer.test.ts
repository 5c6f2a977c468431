/** Bearer token auth: a token server + auth-checking proxy (test/helpers/token-server.ts) in front of the plain registry. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryAuthError } from "../../../src/registry/errors.js";
import { RegistryClient } from "../../../src/registry/client.js";
import { DockerKeychain, anonymousKeychain, staticKeychain, type Credentials } from "../../../src/registry/keychain.js";
import { services } from "../../helpers/services.js";
import { startTokenAuthRegistry, type TokenAuthRegistry } from "../../helpers/token-server.js";
import { basicAuth, dockerConfigDir, fastRetry, randomImage, uniqueRepo, type TempDir } from "./_fixtures.js";

const upstream = services().FLOWPACK_TEST_REGISTRY;
const USER = "alice";
const PASSWORD = "correct-horse-battery-staple";
const REFRESH = "refresh-token-0123456789";

let server: TokenAuthRegistry;
let accessTokenOnly: TokenAuthRegistry;
const dirs: TempDir[] = [];

beforeAll(async () => {
  server = await startTokenAuthRegistry({ upstream, users: { [USER]: PASSWORD }, refreshTokens: { [REFRESH]: USER } });
  accessTokenOnly = await startTokenAuthRegistry({ upstream, users: { [USER]: PASSWORD }, tokenField: "access_token" });
});

afterAll(async () => {
  await Promise.all([server.close(), accessTokenOnly.close()]);
  for (const dir of dirs) dir.remove();
});

function client(host: string, credentials?: Omit<Credentials, "source">): RegistryClient {
  return new RegistryClient({
    host,
    keychain: credentials ? staticKeychain({ [host]: credentials }) : anonymousKeychain,
    retry: fastRetry,
  });
}

describe("Bearer token auth", () => {
  it("ping reports bearer", async () => {
    await expect(client(server.host).ping()).resolves.toMatchObject({ auth: "bearer" });
  });

  it("pushes and pulls with good credentials from a docker config, caching one token per scope", async () => {
    const dir = dockerConfigDir({ auths: { [server.host]: { auth: basicAuth(USER, PASSWORD) } } });
    dirs.push(dir);
    const c = new RegistryClient({
      host: server.host,
      keychain: new DockerKeychain({ env: { DOCKER_CONFIG: dir.path } }),
      retry: fastRetry,
    });
    const repo = uniqueRepo("bearer");
    const image = randomImage([2048, 4096, 1024]);
    server.tokenRequests.length = 0;
    const result = await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect(result.digest).toBe(image.digest);
    // One push-scope token for the whole push (4 blobs + manifest, in parallel).
    expect(server.tokenRequests).toEqual([
      { method: "GET", user: USER, scopes: [`repository:${repo}:pull,push`], status: 200 },
    ]);
    expect((await c.getManifest(repo, "v1")).digest).toBe(image.digest);
    expect(server.tokenRequests.map((r) => r.scopes)).toEqual([[`repository:${repo}:pull,push`], [`repository:${repo}:pull`]]);
    expect(c.tokenFetches).toBe(2);
  });

  it("asks for pull on the source repository when mounting", async () => {
    const c = client(server.host, { username: USER, password: PASSWORD });
    const source = uniqueRepo("bearer-src");
    const target = uniqueRepo("bearer-dst");
    const image = randomImage([512]);
    await c.pushBlob(source, image.layers[0]!);
    server.tokenRequests.length = 0;
    const result = await c.pushBlob(target, image.layers[0]!, { mountFrom: source });
    expect(result.status).toBe("mounted");
    expect(server.tokenRequests.flatMap((r) => r.scopes)).toContain(`repository:${source}:pull`);
  });

  it("refreshes a revoked token once and carries on", async () => {
    const c = client(server.host, { username: USER, password: PASSWORD });
    const repo = uniqueRepo("revoke");
    const image = randomImage([100]);
    await c.pushBlob(repo, image.config);
    server.revokeAll();
    await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect(c.tokenFetches).toBe(2);
  });

  it("accepts token servers that only send access_token", async () => {
    const c = client(accessTokenOnly.host, { username: USER, password: PASSWORD });
    const repo = uniqueRepo("access-token");
    const image = randomImage([100]);
    await expect(
      c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs }),
    ).resolves.toMatchObject({ digest: image.digest });
  });

  it("uses an identity token with the OAuth2 refresh-token flow", async () => {
    const c = client(server.host, { identityToken: REFRESH });
    const repo = uniqueRepo("identity");
    const image = randomImage([100]);
    server.tokenRequests.length = 0;
    await c.pushManifest(repo, "v1", { manifest: image.manifest, mediaType: image.mediaType, blobs: image.blobs });
    expect(server.tokenRequests[0]).toMatchObject({ method: "POST", user: USER, status: 200 });
  });

  it("bad credentials: a clear RegistryAuthError without any secret", async () => {
    const wrong = "not-the-password-42";
    const c = client(server.host, { username: USER, password: wrong });
    const repo = uniqueRepo("bad");
    const error = await c.pushBlob(repo, randomImage([10]).layers[0]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    const auth = error as RegistryAuthError;
    expect(auth.message).toBe(
      `token server ${new URL(server.realm).host} (for registry ${server.host}) rejected the credentials from credentials given to flowpack (needed to push to ${repo}) (401)`,
    );
    expect(auth.hint).toContain(`docker login ${server.host}`);
    const everything = `${auth.message} ${auth.hint} ${String(auth.stack)} ${JSON.stringify(auth)}`;
    for (const secret of [wrong, basicAuth(USER, wrong), PASSWORD]) expect(everything).not.toContain(secret);
  });

  it("anonymous: the token grants nothing, and the error says to log in", async () => {
    const repo = uniqueRepo("anon");
    const error = await client(server.host).pushBlob(repo, randomImage([10]).layers[0]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toMatch(
      new RegExp(`^registry ${server.host} requires authentication to push to ${repo}, and no credentials were found`),
    );
  });
});
