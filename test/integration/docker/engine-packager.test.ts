import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BuildError, DaemonUnreachableError, PackagerOptionsError, PushError } from "../../../src/errors.js";
import { DockerPackager } from "../../../src/packagers/docker/packager.js";
import type { DockerPackagerOptions } from "../../../src/packagers/docker/options.js";
import { flowpack } from "../../helpers/cli.js";
import { docker, skopeoInspect } from "../../helpers/docker.js";
import { example, fixture } from "../../helpers/paths.js";
import { validatePushed } from "../../helpers/registry-image.js";
import { services } from "../../helpers/services.js";
import { dockerfileProject } from "../../helpers/dockerfile-project.js";

const work = mkdtempSync(join(tmpdir(), "flowpack-engine-"));
let env: NodeJS.ProcessEnv;
const packager = (options: DockerPackagerOptions = {}) => new DockerPackager({ env, builder: "docker", ...options });

/** A copy of the native-project fixture (one external package) that tests may edit. */
function nativeProject(name: string): string {
  const dir = join(work, name);
  cpSync(fixture("native-project"), dir, { recursive: true });
  return dir;
}

function dockerConfig(name: string, registry: string, user: string, password: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [registry]: { auth } } }));
  return dir;
}

describe("DockerPackager through the Docker Engine", () => {
  beforeAll(() => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-docker-config") };
  });

  it("packages to the local daemon: the manifest's image is the image ID, and docker run returns the flow's result", async () => {
    const manifest = await packager().package(example("hello", "flow.ts"));
    expect(manifest.image).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(manifest.imageFlowLocation).toBe("/opt/flowpack/flow.mjs");
    expect(manifest.metadata).toMatchObject({ builder: "docker", baseImage: "node:20-bookworm-slim" });
    const run = await docker(["run", "--rm", "--network", "none", manifest.image, "--param", "name=Docker"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, Docker!" });
    const inspect = JSON.parse((await docker(["image", "inspect", manifest.image])).stdout)[0];
    expect(inspect.Config.User).toBe("1000:1000");
    expect(inspect.Config.Labels).toMatchObject({ "org.opencontainers.image.base.name": "node:20-bookworm-slim", "dev.flowpack.flow": "hello" });
  });

  it("pushes the multi-file example (registry without scheme, namespace kept) and pins the digest", async () => {
    const registry = services().FLOWPACK_TEST_REGISTRY;
    const manifest = await packager({ registryUrl: `${registry}/acme/flows` }).package(example("report", "src", "flow.ts"));
    expect(manifest.image).toMatch(new RegExp(`^${registry.replace(/\./g, "\\.")}/acme/flows/daily-report:fp-[a-f0-9]{20}@sha256:[a-f0-9]{64}$`));
    const digest = manifest.image.split("@")[1];
    expect((await skopeoInspect(manifest.image.split("@")[0]!)).Digest).toBe(digest);
    expect(await validatePushed(manifest.image)).toEqual([]);
    // the temporary local tag is gone
    expect((await docker(["image", "inspect", manifest.image.split("@")[0]!])).code).not.toBe(0);
    const run = await docker(["run", "--rm", "--network", "none", manifest.image, "-p", "day=2024-03-01", "-p", "limit=2"]);
    expect(JSON.parse(run.stdout)).toMatchObject({ orders: 2, total: "37.50 EUR" });

    // and through `flowpack run`: parameters validated on the host first, then the container
    const path = join(work, "report.json");
    writeFileSync(path, JSON.stringify(manifest));
    const ok = await flowpack(["run", path, "--param", "day=2024-03-01", "--network", "none"], { env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ orders: 5 });
    const bad = await flowpack(["run", path, "--param", "day=soon"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("day: must match pattern");
  });

  it("accepts a registry URL with http:// scheme", async () => {
    const manifest = await packager({ registryUrl: `http://${services().FLOWPACK_TEST_REGISTRY}` }).package(example("hello", "flow.ts"));
    expect(manifest.image.startsWith(`${services().FLOWPACK_TEST_REGISTRY}/hello:fp-`)).toBe(true);
  });

  it("repackaging unchanged inputs gives the same tag and digest; a code-only change rebuilds only the app layer", async () => {
    const project = nativeProject("layers");
    const registry = `${services().FLOWPACK_TEST_REGISTRY}/layers`;
    const first = await packager({ registryUrl: registry }).package(join(project, "src", "flow.ts"));
    const again = await packager({ registryUrl: registry }).package(join(project, "src", "flow.ts"));
    expect(again.image).toBe(first.image);

    const source = join(project, "src", "flow.ts");
    writeFileSync(source, readFileSync(source, "utf8").replace("answer: answer()", "answer: answer(), changed: true"));
    const changed = await packager({ registryUrl: registry }).package(source);
    expect(changed.image).not.toBe(first.image);

    const before = (await skopeoInspect(first.image)).Layers;
    const after = (await skopeoInspect(changed.image)).Layers;
    expect(await validatePushed(changed.image)).toEqual([]);
    expect(after.length).toBe(before.length);
    expect(after.slice(0, -1)).toEqual(before.slice(0, -1)); // base layers and the dependency layer
    expect(after.at(-1)).not.toBe(before.at(-1)); // the app layer

    const run = await docker(["run", "--rm", "--network", "none", changed.image]);
    expect(JSON.parse(run.stdout)).toEqual({ answer: 42, changed: true });
  });

  it("pushes to the authenticated registry with credentials from a docker config", async () => {
    const { FLOWPACK_TEST_AUTH_REGISTRY: registry, FLOWPACK_TEST_AUTH_USER: user, FLOWPACK_TEST_AUTH_PASSWORD: password } = services();
    const config = dockerConfig("auth-ok", registry, user, password);
    const manifest = await new DockerPackager({ env: { ...env, DOCKER_CONFIG: config }, builder: "docker", registryUrl: `${registry}/private` }).package(
      example("hello", "flow.ts"),
    );
    expect(manifest.image).toMatch(new RegExp(`^${registry.replace(/\./g, "\\.")}/private/hello:fp-[a-f0-9]+@sha256:`));
  });

  it("wrong credentials: a clear PushError with no secret in it", async () => {
    const { FLOWPACK_TEST_AUTH_REGISTRY: registry, FLOWPACK_TEST_AUTH_USER: user } = services();
    const wrong = "wrong-password-0f9e";
    const config = dockerConfig("auth-bad", registry, user, wrong);
    const error = await new DockerPackager({ env: { ...env, DOCKER_CONFIG: config }, builder: "docker", registryUrl: registry })
      .package(example("hello", "flow.ts"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    const text = `${(error as Error).message} ${(error as PushError).hint}`;
    expect(text).toMatch(/unauthorized|authentication required|no basic auth/i);
    expect(text).toContain(`docker login ${registry}`);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(Buffer.from(`${user}:${wrong}`).toString("base64"));
  });

  it("no credential, token or .env content reaches a layer, the config, the history, the manifest or the logs", async () => {
    const { FLOWPACK_TEST_AUTH_REGISTRY: registry, FLOWPACK_TEST_AUTH_USER: user, FLOWPACK_TEST_AUTH_PASSWORD: password } = services();
    const canary = "fp-canary-5d1f0a93";
    const project = nativeProject("canary");
    writeFileSync(join(project, ".env"), `API_TOKEN=${canary}\n`);
    writeFileSync(join(project, ".npmrc"), `//registry.example/:_authToken=${canary}\n`);
    const config = dockerConfig("canary-config", registry, user, password);
    const out = join(work, "canary.json");
    const r = await flowpack(["package", join(project, "src", "flow.ts"), "--packager", "docker", "--builder", "docker", "--registry", registry, "-o", out], {
      env: { ...env, DOCKER_CONFIG: config, NPM_TOKEN: canary },
    });
    expect(r.code, r.stderr).toBe(0);
    const manifestText = readFileSync(out, "utf8");
    const { metadata } = JSON.parse(manifestText) as { metadata: { tag: string } };
    const image = `flowpack/native:${metadata.tag}`; // the local name every daemon build keeps
    const saved = join(work, "canary.tar");
    expect((await docker(["save", "-o", saved, image])).code).toBe(0);
    const history = (await docker(["history", "--no-trunc", image])).stdout;
    const inspect = (await docker(["image", "inspect", image])).stdout;
    const auth = Buffer.from(`${user}:${password}`).toString("base64");
    for (const [where, text] of [
      ["image tar", readFileSync(saved).toString("latin1")],
      ["history", history],
      ["config", inspect],
      ["manifest", manifestText],
      ["logs", r.stdout + r.stderr],
    ] as const) {
      for (const secret of [canary, password, auth]) expect(text.includes(secret), `${where} contains a secret`).toBe(false);
    }
  });

  describe("building your own Dockerfile", () => {
    it("builds the Dockerfile's folder as context, honours .dockerignore, and the image runs the flow", async () => {
      const dir = await dockerfileProject(join(work, "own"));
      writeFileSync(join(dir, "secret.txt"), "do not ship");
      writeFileSync(join(dir, ".dockerignore"), "secret.txt\n");
      // a relative Dockerfile path works
      const manifest = await packager({ dockerfile: relative(process.cwd(), join(dir, "Dockerfile")) }).package(example("hello", "flow.ts"));
      expect(manifest.image).toMatch(/^sha256:/);
      const run = await docker(["run", "--rm", "--network", "none", manifest.image, "-p", "name=Own"]);
      expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, Own!" });
      const files = await docker(["run", "--rm", "--network", "none", "--entrypoint", "ls", manifest.image, "/ctx"]);
      expect(files.stdout.split("\n")).toContain("Dockerfile");
      expect(files.stdout.split("\n")).not.toContain("secret.txt");
    });

    it("a failing RUN is a BuildError naming the step, with the last log lines", async () => {
      const dir = join(work, "failing-run");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "Dockerfile"), "FROM node:20-bookworm-slim\nRUN echo about-to-fail && false\n");
      const error = await packager({ dockerfile: join(dir, "Dockerfile") }).package(example("hello", "flow.ts")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BuildError);
      expect((error as Error).message).toMatch(/at step 2\/2 \(RUN echo about-to-fail && false\).*returned a non-zero code: 1/);
      expect((error as BuildError).logTail.join("\n")).toContain("about-to-fail");
    });

    it("a missing COPY source is a BuildError", async () => {
      const dir = join(work, "missing-copy");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "Dockerfile"), "FROM node:20-bookworm-slim\nCOPY not-here.txt /x\n");
      const error = await packager({ dockerfile: join(dir, "Dockerfile") }).package(example("hello", "flow.ts")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BuildError);
      expect((error as Error).message).toMatch(/step 2\/2 \(COPY not-here\.txt \/x\).*not-here\.txt/);
    });

    it("a missing Dockerfile is an options error", () => {
      expect(() => packager({ dockerfile: join(work, "nope", "Dockerfile") })).toThrowError(PackagerOptionsError);
      expect(() => packager({ dockerfile: join(work, "nope", "Dockerfile") })).toThrowError(/dockerfile: .* not found/);
    });
  });

  it("a base image that does not exist is a BuildError naming it", async () => {
    const base = `${services().FLOWPACK_TEST_REGISTRY}/nope/missing:1`;
    const error = await packager({ baseImage: base }).package(example("hello", "flow.ts")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain("nope/missing");
  });

  it("both a base image and a Dockerfile: an error naming both options", () => {
    expect(() => packager({ baseImage: "node:20", dockerfile: fixture("flows", "two.ts") })).toThrowError(
      /either baseImage \(--base-image\) or dockerfile \(--dockerfile\), not both/,
    );
  });

  it("an unreachable daemon: one line that says how to point flowpack at one (exit 3)", async () => {
    const error = await new DockerPackager({ env: { ...env, DOCKER_HOST: `unix://${work}/no.sock` }, builder: "docker" }).package(example("hello", "flow.ts")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonUnreachableError);
    expect((error as Error).message).toBe(`cannot reach the Docker daemon at unix://${work}/no.sock: no socket there`);
    const r = await flowpack(["package", example("hello", "flow.ts"), "--packager", "docker", "--builder", "docker"], { env: { ...env, DOCKER_HOST: `unix://${work}/no.sock` } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("hint: start Docker, or set DOCKER_HOST");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("an unknown registry host: a PushError naming the host", async () => {
    const error = await packager({ registryUrl: "registry.invalid:5000/team" }).package(example("hello", "flow.ts")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as Error).message).toContain("registry.invalid:5000/team/hello");
  });
});
