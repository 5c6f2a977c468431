import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DaemonUnreachableError} from "../../../src/errors.js";
import { ImageFormatError, ImageLayoutError, PackagerOptionsError, RegistryAuthError } from "../../../src/errors.js";
import { assembleImage } from "../../../src/image/image.js";
import { blobPath, readImageFromLayout, readLayoutIndex } from "../../../src/image/layout.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { canonicalJson } from "../../../src/oci/image.js";
import type { DockerPackageManifest } from "../../../src/manifest/schema.js";
import { DockerPackager } from "../../../src/packagers/docker/packager.js";
import type { DockerPackagerOptions } from "../../../src/packagers/docker/options.js";
import { RegistryClient } from "../../../src/registry/client.js";
import { anonymousKeychain } from "../../../src/registry/keychain.js";
import { runInContainer } from "../../../src/run/docker.js";
import { runFromLayout } from "../../../src/run/layout.js";
import { flowpack } from "../../helpers/cli.js";
import { docker, skopeoRaw } from "../../helpers/docker.js";
import { startFaultProxy, type FaultProxy } from "../../helpers/fault-proxy.js";
import { example, fixture, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";
import { startTokenAuthRegistry, type TokenAuthRegistry } from "../../helpers/token-server.js";
import { validatePushed } from "../../helpers/registry-image.js";
import { validateLayoutImage } from "../../helpers/validate-image.js";

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "flowpack-oci-"));
let env: NodeJS.ProcessEnv;
let base: string;
const packager = (options: DockerPackagerOptions = {}) => new DockerPackager({ env, builder: "oci", baseImage: base, ...options });

function dockerConfig(name: string, registry: string, user: string, password: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } } }));
  return dir;
}

describe("the oci builder (no daemon)", () => {
  beforeAll(() => {
    env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
    base = services().FLOWPACK_TEST_BASE_IMAGE;
  });

  it("pushes an image that docker run executes, that skopeo and the validator accept, with base layers mounted", async () => {
    const manifest = await packager({ registryUrl: `${services().FLOWPACK_TEST_REGISTRY}/oci` }).package(example("report", "src", "flow.ts"));
    expect(manifest.image).toMatch(/^127\.0\.0\.1:\d+\/oci\/daily-report:fp-[a-f0-9]{20}@sha256:[a-f0-9]{64}$/);
    expect(manifest.metadata).toMatchObject({ builder: "oci", baseImage: base, baseImageDigest: services().FLOWPACK_TEST_BASE_IMAGE_DIGEST, platforms: ["linux/amd64"] });
    expect(await validatePushed(manifest.image)).toEqual([]);
    const raw = JSON.parse(await skopeoRaw(manifest.image)) as { mediaType: string; layers: unknown[]; annotations: Record<string, string> };
    expect(raw.mediaType).toBe(MediaType.OCI_MANIFEST);
    expect(raw.annotations["org.opencontainers.image.base.digest"]).toBe(services().FLOWPACK_TEST_BASE_IMAGE_DIGEST);
    const run = await docker(["run", "--rm", "--network", "none", manifest.image, "-p", "day=2024-03-01", "-p", "limit=2"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ orders: 2, total: "37.50 EUR" });
  });

  it("writes an OCI layout that umoci and skopeo accept, and a docker-archive that docker load accepts", async () => {
    const layout = join(work, "layout");
    const archive = join(work, "image.tar");
    const manifest = await packager({ ociLayout: layout, dockerArchive: archive }).package(example("hello", "flow.ts"));
    const tag = manifest.metadata!.tag as string;
    expect(manifest.image).toMatch(new RegExp(`^oci:${layout}@sha256:[a-f0-9]{64}$`));
    expect(await validateLayoutImage(layout, tag)).toEqual([]);
    const { stdout: stat } = await exec("umoci", ["stat", "--image", `${layout}:${tag}`]);
    expect(stat).toContain("flowpack: app (bundle)");
    expect(stat).toContain("flowpack: runner");
    const { stdout: inspect } = await exec("skopeo", ["inspect", `oci:${layout}:${tag}`]);
    expect(JSON.parse(inspect).Digest).toBe(manifest.image.split("@")[1]);
    const bundle = join(work, "umoci-bundle");
    await exec("umoci", ["unpack", "--rootless", "--image", `${layout}:${tag}`, bundle]);
    expect(readFileSync(join(bundle, "rootfs", "opt", "flowpack", "flow.mjs"), "utf8")).toContain("Hello, ");

    const loaded = await docker(["load", "-i", archive]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toContain(`flowpack/hello:${tag}`);
    const run = await docker(["run", "--rm", "--network", "none", `flowpack/hello:${tag}`, "-p", "name=archive"]);
    expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, archive!" });
  });

  it("runs an OCI-layout package with flowpack run and no daemon at all (host base: no network either)", async () => {
    const layout = join(work, "host-layout");
    const out = join(work, "host.json");
    const noDaemon = { ...env, DOCKER_HOST: `unix://${work}/absent.sock` };
    const packaged = await flowpack(["package", example("report", "src", "flow.ts"), "--packager", "docker", "--builder", "oci", "--base-image", "host", "--oci-layout", layout, "-o", out], { env: noDaemon });
    expect(packaged.code, packaged.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(out, "utf8")) as DockerPackageManifest;
    expect(await validateLayoutImage(layout, manifest.metadata!.tag as string)).toEqual([]);
    const run = await flowpack(["run", out, "--param", "day=2024-04-01", "--param", "limit=1"], { env: noDaemon });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ day: "2024-04-01", orders: 1 });
    // and the same image in a container: the host runtime layer is a working base
    const inDocker = await flowpack(["run", out, "--on", "docker", "--network", "none", "--param", "day=2024-04-01"], { env });
    expect(inDocker.code, inDocker.stderr).toBe(0);
    expect(JSON.parse(inDocker.stdout)).toMatchObject({ orders: 5 });
  });

  describe("running an OCI-layout package", () => {
    const layoutBase = () => `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`;

    it("runs the pinned image after its tag moved on to another, in this process and in a container, whatever the flow's name", async () => {
      const project = join(work, "moved-tag");
      mkdirSync(project, { recursive: true });
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "moved-tag", version: "1.0.0", type: "module" }));
      const source = join(project, "flow.ts");
      // `etl_` is a valid flow name but not a valid image name: the local name is slugified.
      const write = (version: number) =>
        writeFileSync(source, `import { flow } from "flowpack";\nexport const etl = flow({ name: "etl_" }, async () => ({ version: ${version} }));\n`);
      const layout = join(work, "moved-tag-layout");
      write(1);
      const first = await packager({ baseImage: layoutBase(), ociLayout: layout, tag: "dev" }).package(source);
      write(2);
      const second = await packager({ baseImage: layoutBase(), ociLayout: layout, tag: "dev" }).package(source);
      const pinned = first.image.split("@")[1]!;
      expect(second.image).not.toBe(first.image);
      expect((await readLayoutIndex(layout)).manifests.map((m) => m.digest)).not.toContain(pinned);

      expect((await runFromLayout(first, layout, pinned, {})).result).toEqual({ version: 1 });
      expect((await runFromLayout(second, layout, second.image.split("@")[1]!, {})).result).toEqual({ version: 2 });
      const inDocker = await runInContainer(first, {}, { hostEnv: env, network: "none", onLog: () => undefined });
      expect(inDocker.result).toEqual({ version: 1 });
    });

    it("refuses to run a layer whose blob was swapped for another of the same size", async () => {
      const layout = join(work, "swapped-layout");
      const manifest = await packager({ baseImage: layoutBase(), ociLayout: layout }).package(example("hello", "flow.ts"));
      const app = (manifest.metadata!.layers as { app: string }).app;
      const original = readFileSync(blobPath(layout, app));
      // Same tar, other code; the source map's mappings blanked so it compresses smaller, then padded
      // with the zeros gunzip ignores: a valid gzip of exactly the recorded size.
      const tar = gunzipSync(original).toString("latin1").replaceAll("Hello, ", "Owned, ").replace(/"mappings":"([^"]*)"/, (_, m: string) => `"mappings":"${"A".repeat(m.length)}"`);
      const evil = gzipSync(Buffer.from(tar, "latin1"), { level: 9 });
      expect(evil.length).toBeLessThanOrEqual(original.length);
      writeFileSync(blobPath(layout, app), Buffer.concat([evil, Buffer.alloc(original.length - evil.length)]));

      const error = await runFromLayout(manifest, layout, manifest.image.split("@")[1]!, { name: "x" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageLayoutError);
      expect((error as Error).message).toMatch(new RegExp(`^layer \\d+ \\(${app}\\) in ${layout} is corrupted: its blob is ${original.length} bytes hashing to sha256:[a-f0-9]{64}$`));
      // The same fault through a daemon (--on docker) is the same error, code and exit status: not
      // the daemon's complaint about a truncated upload.
      const inDocker = await runInContainer(manifest, { name: "x" }, { hostEnv: env, network: "none", onLog: () => undefined }).catch((e: unknown) => e);
      expect(inDocker).toBeInstanceOf(ImageLayoutError);
      expect((inDocker as ImageLayoutError).exitCode).toBe(2);
      expect((inDocker as Error).message).toBe((error as Error).message);
    });
  });

  it("gives the same image digest for the same inputs, from other folders, mtimes and umask", async () => {
    const digests: string[] = [];
    for (const [name, umask, when] of [["a", "022", "2001-02-03 04:05"], ["b", "077", "2021-06-07 08:09"]] as const) {
      const copy = join(work, `repro-${name}`, "project");
      const layout = join(work, `repro-${name}`, "layout");
      const script = [
        `umask ${umask}`,
        `mkdir -p ${JSON.stringify(copy)}`,
        `cp -r ${JSON.stringify(fixture("native-project"))}/. ${JSON.stringify(copy)}`,
        `find ${JSON.stringify(copy)} -exec touch -h -d ${JSON.stringify(when)} {} +`,
        `cd ${JSON.stringify(join(copy, "src"))}`,
        `exec node ${JSON.stringify(join(repoRoot, "dist/cli.mjs"))} package flow.ts --packager docker --builder oci --base-image ${base} --oci-layout ${JSON.stringify(layout)} --quiet`,
      ].join(" && ");
      const { stdout } = await exec("sh", ["-c", script], { env: { ...env, FLOWPACK_CACHE_DIR: join(work, `cache-${name}`) } });
      digests.push((JSON.parse(stdout) as DockerPackageManifest).image.split("@")[1]!);
    }
    expect(digests[1]).toBe(digests[0]);
  });

  describe("through a proxy that counts and breaks requests", () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(services().FLOWPACK_TEST_REGISTRY);
    });
    afterAll(() => proxy.close());

    const blobBytes = () => proxy.requests.filter((r) => r.path.includes("/blobs/uploads/")).reduce((sum, r) => sum + r.bytes, 0);

    it("a code-only change re-uploads only the app layer (and the config)", async () => {
      const project = join(work, "code-only");
      await exec("cp", ["-r", fixture("native-project"), project]);
      const registryUrl = `${proxy.host}/counted`;
      const first = await packager({ registryUrl }).package(join(project, "src", "flow.ts"));
      const source = join(project, "src", "flow.ts");
      // A change this run has never made: the registry outlives test runs, and identical code gives identical layers.
      const marker = `run-${Date.now()}`;
      writeFileSync(source, readFileSync(source, "utf8").replace("answer: answer()", `answer: answer() + 1, marker: "${marker}"`));
      proxy.reset();
      const second = await packager({ registryUrl }).package(source);
      const layers = second.metadata!.layers as { dependencies: string; app: string };
      expect(layers.dependencies).toBe((first.metadata!.layers as { dependencies: string }).dependencies);
      const raw = JSON.parse(await skopeoRaw(second.image.replace(proxy.host, services().FLOWPACK_TEST_REGISTRY))) as {
        config: { size: number };
        layers: { digest: string; size: number }[];
      };
      const app = raw.layers.find((l) => l.digest === layers.app)!;
      expect(blobBytes()).toBe(app.size + raw.config.size);
      const run = await docker(["run", "--rm", "--network", "none", second.image.replace(proxy.host, services().FLOWPACK_TEST_REGISTRY)]);
      expect(JSON.parse(run.stdout)).toEqual({ answer: 43, marker });
    });

    it("the multi-file example: npm packages sit in the vendor layer, so a code change uploads a few KiB of app layer", async () => {
      // examples/report with its packages linked from the workspace's node_modules (where npm hoisted them).
      const project = join(work, "report-code-only");
      await exec("cp", ["-r", example("report"), project]);
      await exec("rm", ["-rf", join(project, "node_modules")]);
      mkdirSync(join(project, "node_modules"));
      for (const name of ["date-fns", "ms", "zod"]) symlinkSync(join(repoRoot, "node_modules", name), join(project, "node_modules", name));
      const source = join(project, "src", "flow.ts");
      const registryUrl = `${proxy.host}/counted`;
      const first = await packager({ registryUrl }).package(source);
      const marker = `run-${Date.now()}`;
      writeFileSync(source, readFileSync(source, "utf8").replace('description: "Summarises a day\'s orders"', `description: "${marker}"`));
      proxy.reset();
      const second = await packager({ registryUrl }).package(source);
      expect(second.image).not.toBe(first.image);
      const [before, after] = [first, second].map((m) => m.metadata!.layers as { runner: string; vendor: string; app: string });
      expect(after!.vendor).toMatch(/^sha256:/);
      expect(after!.vendor).toBe(before!.vendor);
      expect(after!.app).not.toBe(before!.app);
      const pushed = second.image.replace(proxy.host, services().FLOWPACK_TEST_REGISTRY);
      const raw = JSON.parse(await skopeoRaw(pushed)) as { config: { size: number }; layers: { digest: string; size: number }[] };
      const app = raw.layers.find((l) => l.digest === after!.app)!;
      const vendor = raw.layers.find((l) => l.digest === after!.vendor)!;
      expect(blobBytes()).toBe(app.size + raw.config.size);
      expect(app.size).toBeLessThan(20 * 1024); // the flow's own code; zod, date-fns and ms are in the vendor layer
      expect(vendor.size).toBeGreaterThan(100 * 1024);
      expect(await validatePushed(pushed)).toEqual([]);
      const run = await docker(["run", "--rm", "--network", "none", pushed, "-p", "day=2024-03-01", "-p", "limit=2"]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ orders: 2, total: "37.50 EUR", span: expect.any(String) });
    });

    it("rides out 503s, 429 with Retry-After and connection resets at each step of a push", async () => {
      proxy.reset();
      proxy.inject({ method: "HEAD", path: /\/blobs\/sha256:/, fault: { kind: "status", status: 503 } });
      proxy.inject({ method: "POST", path: /\/blobs\/uploads\/$/, fault: { kind: "status", status: 429, headers: { "retry-after": "1" } } });
      proxy.inject({ method: "PUT", path: /\/blobs\/uploads\//, fault: { kind: "reset" } });
      proxy.inject({ method: "PUT", path: /\/manifests\//, fault: { kind: "status", status: 502 } });
      // A repository this run has never used (the registry outlives runs): every blob is uploaded, so every fault fires.
      const namespace = `faults${Date.now().toString(36)}`;
      const manifest = await packager({ registryUrl: `${proxy.host}/${namespace}`, tag: "weather" }).package(example("hello", "flow.ts"));
      expect(proxy.requests.filter((r) => r.fault).length).toBe(4);
      expect(await validatePushed(manifest.image.replace(proxy.host, services().FLOWPACK_TEST_REGISTRY))).toEqual([]);
    });

    it("a push that keeps failing says so clearly, leaves no tag behind, and a rerun completes it", async () => {
      proxy.reset();
      proxy.inject({ method: "PUT", path: /\/blobs\/uploads\//, times: Infinity, fault: { kind: "status", status: 500 } });
      const namespace = `interrupted${Date.now().toString(36)}`; // the registry outlives test runs
      const failing = packager({ registryUrl: `${proxy.host}/${namespace}`, tag: "v1" });
      const error = await failing.package(example("hello", "flow.ts")).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/interrupted/);
      expect((error as Error).message).not.toMatch(/_state=|\?/);
      const client = new RegistryClient({ host: services().FLOWPACK_TEST_REGISTRY, keychain: anonymousKeychain });
      expect(await client.headManifest(`${namespace}/hello`, "v1")).toBeUndefined();
      proxy.reset();
      const manifest = await failing.package(example("hello", "flow.ts"));
      expect(await validatePushed(manifest.image.replace(proxy.host, services().FLOWPACK_TEST_REGISTRY))).toEqual([]);
    });
  });

  describe("authentication", () => {
    let tokens: TokenAuthRegistry;
    beforeAll(async () => {
      tokens = await startTokenAuthRegistry({ upstream: services().FLOWPACK_TEST_REGISTRY, users: { robot: "s3cret-robot-pass" } });
    });
    afterAll(() => tokens.close());

    it("pushes with Basic credentials from a docker config", async () => {
      const { FLOWPACK_TEST_AUTH_REGISTRY: registry, FLOWPACK_TEST_AUTH_USER: user, FLOWPACK_TEST_AUTH_PASSWORD: password } = services();
      const manifest = await new DockerPackager({ env: { ...env, DOCKER_CONFIG: dockerConfig("basic", registry, user, password) }, builder: "oci", baseImage: base, registryUrl: `${registry}/oci` }).package(
        example("hello", "flow.ts"),
      );
      expect(manifest.image).toContain(`${registry}/oci/hello:`);
    });

    it("pushes with Bearer tokens, and bad credentials give a clear error with no secret in it", async () => {
      const good = dockerConfig("bearer", tokens.host, "robot", "s3cret-robot-pass");
      const manifest = await new DockerPackager({ env: { ...env, DOCKER_CONFIG: good }, builder: "oci", baseImage: base, registryUrl: `${tokens.host}/bearer` }).package(
        example("hello", "flow.ts"),
      );
      expect(manifest.image).toContain(`${tokens.host}/bearer/hello:`);
      expect(tokens.tokenRequests.some((r) => r.user === "robot")).toBe(true);

      const bad = dockerConfig("bearer-bad", tokens.host, "robot", "wrong-pass-77");
      const error = await new DockerPackager({ env: { ...env, DOCKER_CONFIG: bad }, builder: "oci", baseImage: base, registryUrl: `${tokens.host}/bearer` })
        .package(example("hello", "flow.ts"))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryAuthError);
      const text = `${(error as Error).message} ${(error as RegistryAuthError).hint ?? ""}`;
      expect(text).toContain(tokens.host);
      for (const secret of ["wrong-pass-77", Buffer.from("robot:wrong-pass-77").toString("base64")]) expect(text).not.toContain(secret);
    });
  });

  describe("several platforms", () => {
    /** A two-platform base: the test base, and the same layers under an arm64 config. */
    async function multiPlatformBase(): Promise<string> {
      const amd64 = await readImageFromLayout(services().FLOWPACK_TEST_BASE_LAYOUT);
      const arm64 = assembleImage({ config: { ...amd64.config, architecture: "arm64", variant: "v8" }, layers: amd64.layers });
      const client = new RegistryClient({ host: services().FLOWPACK_TEST_REGISTRY, keychain: anonymousKeychain });
      const entries = [];
      for (const [image, platform] of [[amd64, { os: "linux", architecture: "amd64" }], [arm64, { os: "linux", architecture: "arm64", variant: "v8" }]] as const) {
        await client.pushManifest("multi/base", image.manifestDigest, {
          manifest: image.manifestBytes,
          mediaType: MediaType.OCI_MANIFEST,
          blobs: [{ digest: image.configDigest, size: image.configBytes.length, body: () => image.configBytes }, ...image.layers.map((l) => ({ digest: l.digest, size: l.size, body: () => l.open() }))],
          mountFrom: "flowpack-test/node",
        });
        entries.push({ mediaType: MediaType.OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBytes.length, platform });
      }
      await client.putManifest("multi/base", "1", canonicalJson({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: entries }), MediaType.OCI_INDEX);
      return `${services().FLOWPACK_TEST_REGISTRY}/multi/base:1`;
    }

    it("builds an image index from a multi-platform base", async () => {
      const multiBase = await multiPlatformBase();
      const manifest = await packager({
        baseImage: multiBase,
        platform: "linux/amd64,linux/arm64",
        registryUrl: `${services().FLOWPACK_TEST_REGISTRY}/multi`,
      }).package(example("hello", "flow.ts"));
      const index = JSON.parse(await skopeoRaw(manifest.image)) as { mediaType: string; manifests: { platform: { architecture: string } }[] };
      expect(index.mediaType).toBe(MediaType.OCI_INDEX);
      expect(index.manifests.map((m) => m.platform.architecture)).toEqual(["amd64", "arm64"]);
      expect(manifest.metadata!.platforms).toEqual(["linux/amd64", "linux/arm64"]);
      const run = await docker(["run", "--rm", "--network", "none", "--platform", "linux/amd64", manifest.image]);
      expect(JSON.parse(run.stdout)).toEqual({ greeting: "Hello, world!" });
    });

    it("refuses several platforms to an OCI layout before anything is pushed: they go to --registry only", async () => {
      const namespace = `multi-layout${Date.now().toString(36)}`; // the registry outlives test runs
      const error = await packager({
        baseImage: await multiPlatformBase(),
        platform: "linux/amd64,linux/arm64",
        registryUrl: `${services().FLOWPACK_TEST_REGISTRY}/${namespace}`,
        ociLayout: join(work, "multi-layout"),
        tag: "v1",
      })
        .package(example("hello", "flow.ts"))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PackagerOptionsError);
      expect((error as Error).message).toBe("--oci-layout holds one platform; several platforms (linux/amd64, linux/arm64) go to --registry only");
      const client = new RegistryClient({ host: services().FLOWPACK_TEST_REGISTRY, keychain: anonymousKeychain });
      expect(await client.headManifest(`${namespace}/hello`, "v1")).toBeUndefined();
    });

    it("refuses a single-platform OCI-layout base for another platform, naming both, before anything is pushed", async () => {
      const namespace = `layout-base${Date.now().toString(36)}`;
      const error = await packager({
        baseImage: `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`,
        platform: "linux/amd64,linux/arm64",
        registryUrl: `${services().FLOWPACK_TEST_REGISTRY}/${namespace}`,
        tag: "v1",
      })
        .package(example("hello", "flow.ts"))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageFormatError);
      expect((error as Error).message).toMatch(/ is built for linux\/amd64, not linux\/arm64$/);
      const client = new RegistryClient({ host: services().FLOWPACK_TEST_REGISTRY, keychain: anonymousKeychain });
      expect(await client.headManifest(`${namespace}/hello`, "v1")).toBeUndefined();
    });

    it("a native addon for another platform is a clear error naming the package and the way out", async () => {
      const error = await packager({ platform: "linux/arm64", ociLayout: join(work, "never") }).package(fixture("native-project", "src", "flow.ts")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PackagerOptionsError);
      expect((error as Error).message).toMatch(/fake-native has a native addon built for linux\/amd64, not linux\/arm64/);
      expect((error as PackagerOptionsError).hint).toMatch(/--builder docker --dependencies in-image/);
    });
  });

  it("says where to put the image when there is nowhere", async () => {
    const error = await new DockerPackager({ env: { ...env, DOCKER_HOST: `unix://${work}/absent.sock` }, builder: "oci", baseImage: base })
      .package(example("hello", "flow.ts"))
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/cannot reach the Docker daemon .* the image goes to the daemon/);
    expect((error as DaemonUnreachableError).hint).toBe("give --registry URL, --oci-layout DIR or --docker-archive FILE, or start Docker");
  });
});
