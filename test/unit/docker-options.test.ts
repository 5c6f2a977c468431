import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NodeEnvironment } from "../../src/environment/node.js";
import { PackagerOptionsError } from "../../src/errors.js";
import {
  DEFAULT_IMAGE_FLOW_LOCATION,
  parseRegistryUrl,
  resolveDockerOptions,
  type DockerPackagerOptions,
} from "../../src/packagers/docker/options.js";

const dir = realpathSync(mkdtempSync(join(tmpdir(), "flowpack-options-")));
const dockerfile = join(dir, "Dockerfile");
writeFileSync(dockerfile, "FROM scratch\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(options: DockerPackagerOptions): PackagerOptionsError {
  try {
    resolveDockerOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(PackagerOptionsError);
    return error as PackagerOptionsError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

describe("resolveDockerOptions defaults", () => {
  it("builds on node:<this process's major>-bookworm-slim with the oci builder, flow at /opt/flowpack/flow.mjs", () => {
    const resolved = resolveDockerOptions({});
    expect(resolved.baseImage).toBe(`node:${process.versions.node.split(".")[0]}-bookworm-slim`);
    expect(resolved.imageFlowLocation).toBe("/opt/flowpack/flow.mjs");
    expect(DEFAULT_IMAGE_FLOW_LOCATION).toBe("/opt/flowpack/flow.mjs");
    expect(resolved.builder).toBe("oci");
    expect(resolved.dependencies).toBe("copy");
    expect(resolved.dockerfile).toBeUndefined();
    expect(resolved.registry).toBeUndefined();
    expect(resolved.platforms).toBeUndefined();
    expect(resolved.tag).toBeUndefined();
    expect(resolved.env).toBe(process.env);
  });

  it("takes the base image from the environment when given one", () => {
    const environment = new NodeEnvironment({ nodeVersion: "22.3.0", packageManager: "npm", dependencies: {}, variant: "alpine" });
    const resolved = resolveDockerOptions({ environment });
    expect(resolved.baseImage).toBe("node:22-alpine");
    expect(resolved.environment).toBe(environment);
    expect(resolveDockerOptions({ environment, baseImage: "my/base:1" }).baseImage).toBe("my/base:1");
  });

  it("auto picks the docker builder for a Dockerfile (and no base image)", () => {
    const resolved = resolveDockerOptions({ dockerfile });
    expect(resolved.builder).toBe("docker");
    expect(resolved.dockerfile).toBe(dockerfile);
    expect(resolved.baseImage).toBeUndefined();
    expect(resolveDockerOptions({ dockerfile, builder: "auto" }).builder).toBe("docker");
    expect(resolveDockerOptions({ builder: "docker" }).builder).toBe("docker");
  });

  it("resolves a relative Dockerfile path against the working directory", () => {
    const given = relative(process.cwd(), dockerfile);
    expect(given.startsWith("/")).toBe(false);
    expect(resolveDockerOptions({ dockerfile: given }).dockerfile).toBe(dockerfile);
  });

  it("parses platforms, tag and registry", () => {
    const resolved = resolveDockerOptions({ platform: "linux/amd64,linux/arm64/v8", tag: "v1.2_3", registryUrl: "ghcr.io/acme/flows" });
    expect(resolved.platforms).toEqual([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
    ]);
    expect(resolved.tag).toBe("v1.2_3");
    expect(resolved.registry).toEqual({ url: "https://ghcr.io/acme/flows", host: "ghcr.io", namespace: "acme/flows", insecure: false, secure: false });
  });

  it("keeps the onProgress listener working", () => {
    const seen: string[] = [];
    const resolved = resolveDockerOptions({ onProgress: (event) => seen.push(event.message) });
    resolved.onProgress?.({ phase: "build", message: "step 1" });
    expect(seen).toEqual(["step 1"]);
  });
});

describe("resolveDockerOptions errors", () => {
  it("refuses both baseImage and dockerfile, naming both", () => {
    const error = failure({ baseImage: "node:20", dockerfile });
    expect(error.message).toBe("give either baseImage (--base-image) or dockerfile (--dockerfile), not both");
    expect(error.hint).toBe("a Dockerfile chooses its own base in FROM");
    expect(error.exitCode).toBe(2);
  });

  it("reports a Dockerfile that does not exist, as given", () => {
    expect(failure({ dockerfile: "nope/Dockerfile" }).message).toBe("dockerfile: nope/Dockerfile not found");
    expect(failure({ dockerfile: dir }).message).toBe(`dockerfile: ${dir} not found`);
  });

  it("refuses a relative imageFlowLocation", () => {
    expect(failure({ imageFlowLocation: "opt/flow.mjs" }).message).toBe(
      "invalid DockerPackager options: imageFlowLocation: expected an absolute POSIX path without '..' or control characters (e.g. /opt/flowpack/flow.mjs)",
    );
    expect(failure({ imageFlowLocation: "/opt/../flow.mjs" }).message).toContain("imageFlowLocation: ");
  });

  it("refuses a bad tag, naming the option", () => {
    for (const tag of ["-x", ".x", "a:b", "x".repeat(129)]) {
      expect(failure({ tag }).message).toBe(
        "invalid DockerPackager options: tag: tags are letters, digits, '_', '.', '-' (≤ 128, not starting with '.' or '-')",
      );
    }
    expect(resolveDockerOptions({ tag: "x".repeat(128) }).tag).toHaveLength(128);
  });

  it("refuses a bad platform, naming the option", () => {
    for (const platform of ["linux", "Linux/amd64", "linux/amd64,", "linux/amd64/v8/x"]) {
      expect(failure({ platform }).message).toBe(
        "invalid DockerPackager options: platform: expected os/arch[/variant][,…], e.g. linux/amd64,linux/arm64",
      );
    }
  });

  it("refuses several platforms with the docker builder", () => {
    expect(failure({ platform: "linux/amd64,linux/arm64", builder: "docker" }).message).toBe(
      "the Docker Engine builder builds one platform at a time; use --builder oci for several",
    );
    expect(failure({ platform: "linux/amd64,linux/arm64", dockerfile }).message).toContain("one platform at a time");
    expect(resolveDockerOptions({ platform: "linux/arm64", builder: "docker" }).platforms).toEqual([{ os: "linux", architecture: "arm64" }]);
  });

  it("refuses oci-only outputs with the docker builder", () => {
    const message = "--oci-layout and --docker-archive are outputs of the oci builder (--builder oci)";
    expect(failure({ builder: "docker", ociLayout: join(dir, "layout") }).message).toBe(message);
    expect(failure({ dockerfile, dockerArchive: join(dir, "image.tar") }).message).toBe(message);
    expect(resolveDockerOptions({ ociLayout: "layout" }).ociLayout).toBe(join(process.cwd(), "layout"));
  });

  it("refuses in-image installs with the oci builder (explicit or auto)", () => {
    const message = "in-image dependency installs need a Docker Engine (RUN); use --builder docker, or the default copy mode";
    expect(failure({ dependencies: "inImage" }).message).toBe(message);
    expect(failure({ dependencies: "inImage", builder: "oci" }).message).toBe(message);
    expect(resolveDockerOptions({ dependencies: "inImage", builder: "docker" }).dependencies).toBe("inImage");
  });

  it("refuses a Dockerfile with the oci builder, and the options that only apply without one", () => {
    expect(failure({ dockerfile, builder: "oci" }).message).toBe("the oci builder cannot build a Dockerfile; use --builder docker (or auto)");
    expect(failure({ context: dir }).message).toBe("context (--context) only applies with dockerfile (--dockerfile)");
    expect(failure({ dockerfile, dependencies: "copy" }).message).toBe(
      "dependencies only applies when flowpack writes the Dockerfile (no --dockerfile)",
    );
  });

  it("refuses unknown options and an unknown builder, naming them", () => {
    expect(failure({ bogus: 1 } as never).message).toBe('invalid DockerPackager options: options: Unrecognized key: "bogus"');
    expect(failure({ builder: "podman" } as never).message).toMatch(/^invalid DockerPackager options: builder: /);
  });
});

describe("parseRegistryUrl", () => {
  it("adds https to a bare host/namespace", () => {
    expect(parseRegistryUrl("ghcr.io/acme/flows")).toEqual({ url: "https://ghcr.io/acme/flows", host: "ghcr.io", namespace: "acme/flows", insecure: false, secure: false });
  });

  it("http:// marks an insecure registry; no path, no namespace", () => {
    expect(parseRegistryUrl("http://127.0.0.1:5000")).toEqual({ url: "http://127.0.0.1:5000", host: "127.0.0.1:5000", namespace: "", insecure: true, secure: false });
    expect(parseRegistryUrl("localhost:5000/")).toEqual({ url: "https://localhost:5000", host: "localhost:5000", namespace: "", insecure: false, secure: false });
    // written with https:// explicitly: https even on loopback (a port-forwarded TLS registry)
    expect(parseRegistryUrl("https://localhost:5443/team")).toEqual({ url: "https://localhost:5443/team", host: "localhost:5443", namespace: "team", insecure: false, secure: true });
  });

  it("trims slashes around the namespace and accepts separators", () => {
    expect(parseRegistryUrl("https://registry.example.com/team_a/my-flows.v2/").namespace).toBe("team_a/my-flows.v2");
  });

  it("refuses credentials in the URL", () => {
    expect(() => parseRegistryUrl("https://user:secret@ghcr.io/acme")).toThrow(
      new PackagerOptionsError("registryUrl must not contain credentials; use docker login (the docker config) instead"),
    );
    expect(() => parseRegistryUrl("user@ghcr.io/acme")).toThrow("registryUrl must not contain credentials");
  });

  it("refuses an uppercase namespace", () => {
    expect(() => parseRegistryUrl("ghcr.io/Acme/flows")).toThrow(PackagerOptionsError);
    expect(() => parseRegistryUrl("ghcr.io/Acme/flows")).toThrow(
      'registryUrl: namespace "Acme/flows" must be lowercase path components (a-z, 0-9, separators . _ -)',
    );
  });

  it("refuses other schemes, query strings and non-URLs", () => {
    expect(() => parseRegistryUrl("ftp://ghcr.io/acme")).toThrow("registryUrl: unsupported scheme ftp: (use https:// or http://)");
    expect(() => parseRegistryUrl("ghcr.io/acme?x=1")).toThrow("registryUrl: no query string or fragment, please");
    expect(() => parseRegistryUrl("http://[bad")).toThrow('registryUrl: "http://[bad" is not a registry URL');
  });
});
