import { describe, expect, it } from "vitest";
import { canonicalJson, parseImageConfig, parseImageIndex, parseImageManifest } from "../../../src/oci/image.js";
import { formatPlatform, hostPlatform, ociArchitecture, parsePlatform, platformMatches } from "../../../src/oci/platform.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { ImageFormatError } from "../../../src/errors.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe("platforms", () => {
  it.each([
    ["linux/amd64", { os: "linux", architecture: "amd64" }],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v7" }],
  ])("parses and formats %s", (text, platform) => {
    expect(parsePlatform(text)).toEqual(platform);
    expect(formatPlatform(parsePlatform(text))).toBe(text);
  });

  it.each(["linux", "linux/", "/amd64", "linux/amd64/v8/x", "Linux/AMD64"])("rejects %j naming the form", (text) => {
    expect(() => parsePlatform(text)).toThrow(/expected os\/architecture\[\/variant\]/);
  });

  it("matches arm64 with and without the default v8 variant", () => {
    expect(platformMatches(parsePlatform("linux/arm64"), parsePlatform("linux/arm64/v8"))).toBe(true);
    expect(platformMatches(parsePlatform("linux/arm/v6"), parsePlatform("linux/arm/v7"))).toBe(false);
    expect(platformMatches(parsePlatform("linux/amd64"), parsePlatform("linux/arm64"))).toBe(false);
  });

  it("maps Node architectures to OCI names", () => {
    expect(ociArchitecture("x64")).toBe("amd64");
    expect(ociArchitecture("arm64")).toBe("arm64");
    expect(ociArchitecture("ia32")).toBe("386");
    expect(ociArchitecture("ppc64")).toBe("ppc64le");
    expect(() => ociArchitecture("pdp11")).toThrow(/no OCI name/);
    expect(hostPlatform({ arch: "x64" })).toEqual({ os: "linux", architecture: "amd64" });
    expect(hostPlatform({ arch: "arm64" })).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(hostPlatform({ arch: "arm", armVersion: 6 })).toEqual({ os: "linux", architecture: "arm", variant: "v6" });
    expect(hostPlatform().os).toBe("linux");
  });
});

describe("schemas", () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: D("a"), size: 10 },
    layers: [{ mediaType: MediaType.DOCKER_LAYER_GZIP, digest: D("b"), size: 20 }],
  };

  it("parses OCI and Docker manifests and keeps unknown fields", () => {
    expect(parseImageManifest(JSON.stringify(manifest)).layers).toHaveLength(1);
    const docker = { ...manifest, mediaType: MediaType.DOCKER_MANIFEST, extra: true };
    expect(parseImageManifest(JSON.stringify(docker))).toMatchObject({ extra: true });
  });

  it("rejects a manifest of the wrong media type or shape, naming the field", () => {
    expect(() => parseImageManifest(JSON.stringify({ ...manifest, mediaType: MediaType.OCI_INDEX }))).toThrow(/media type .*index/);
    expect(() => parseImageManifest(JSON.stringify({ ...manifest, config: { digest: "nope" } }))).toThrow(/config\.(mediaType|digest)/);
    expect(() => parseImageManifest("{")).toThrow(ImageFormatError);
  });

  it("parses an index and a Docker manifest list", () => {
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST_LIST,
      manifests: [{ mediaType: MediaType.DOCKER_MANIFEST, digest: D("c"), size: 1, platform: { os: "linux", architecture: "amd64" } }],
    };
    expect(parseImageIndex(JSON.stringify(index)).manifests[0]?.platform?.architecture).toBe("amd64");
  });

  it("parses a config with null Env (as some tools write) and requires rootfs diff_ids", () => {
    const config = {
      architecture: "amd64",
      os: "linux",
      config: { Env: null, Cmd: ["node"], ExposedPorts: { "80/tcp": {} } },
      rootfs: { type: "layers", diff_ids: [D("d")] },
      history: [{ created: "2020-01-01T00:00:00Z", created_by: "x" }],
      container_config: { Hostname: "abc" },
    };
    expect(parseImageConfig(JSON.stringify(config))).toMatchObject({ container_config: { Hostname: "abc" } });
    expect(() => parseImageConfig(JSON.stringify({ ...config, rootfs: { type: "layers", diff_ids: ["md5:x"] } }))).toThrow(/rootfs\.diff_ids\.0/);
    expect(() => parseImageConfig(JSON.stringify({ ...config, os: undefined }))).toThrow(/os/);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    const a = canonicalJson({ b: 1, a: { z: [3, { y: 1, x: 2 }], c: undefined } });
    const b = canonicalJson({ a: { z: [3, { x: 2, y: 1 }] }, b: 1 });
    expect(a.toString()).toBe('{"a":{"z":[3,{"x":2,"y":1}]},"b":1}');
    expect(a.equals(b)).toBe(true);
  });
});
