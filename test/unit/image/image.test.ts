import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assembleImage, baseImageAnnotations } from "../../../src/image/image.js";
import { ImageFormatError } from "../../../src/errors.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { parseImageConfig, parseImageManifest, type ImageConfig } from "../../../src/oci/image.js";
import type { LayerInfo } from "../../../src/image/layer.js";

const d = (c: string) => `sha256:${c.repeat(64)}` as const;
const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const baseLayer: LayerInfo = { digest: d("1"), diffId: d("2"), size: 100, mediaType: MediaType.DOCKER_LAYER_GZIP };
const baseConfig: ImageConfig = {
  architecture: "amd64",
  os: "linux",
  created: "2024-01-02T03:04:05.123456789Z",
  config: {
    Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_VERSION=20.20.2"],
    Cmd: ["node"],
    WorkingDir: "/",
    Labels: { base: "yes" },
    Healthcheck: { Test: ["NONE"] },
  },
  rootfs: { type: "layers", diff_ids: [d("2")] },
  history: [{ created: "2024-01-02T03:04:05Z", created_by: "base" }],
  container_config: { Hostname: "builder" },
};
const deps: LayerInfo = { digest: d("3"), diffId: d("4"), size: 200, mediaType: MediaType.OCI_LAYER_GZIP };
const app: LayerInfo = { digest: d("5"), diffId: d("6"), size: 300, mediaType: MediaType.OCI_LAYER_GZIP };

function assemble(overrides: Parameters<typeof assembleImage>[1] = {}) {
  return assembleImage(
    { config: baseConfig, layers: [baseLayer] },
    {
      layers: [
        { layer: deps, history: { created_by: "flowpack: dependencies" } },
        { layer: app, history: { created_by: "flowpack: app", comment: "bundle" } },
      ],
      changes: {
        env: { NODE_ENV: "production", PATH: "/app/bin:/usr/bin:/bin" },
        entrypoint: ["node", "/app/entry.mjs"],
        user: "1000:1000",
        workingDir: "/app",
        labels: { "org.opencontainers.image.title": "hello" },
        exposedPorts: ["8080"],
      },
      ...overrides,
    },
  );
}

describe("assembleImage", () => {
  it("appends layers to rootfs, history and the manifest, naming every tar layer in the OCI family", () => {
    const image = assemble();
    expect(image.config.rootfs.diff_ids).toEqual([d("2"), d("4"), d("6")]);
    expect(image.manifest.layers).toEqual([
      { mediaType: MediaType.OCI_LAYER_GZIP, digest: d("1"), size: 100 },
      { mediaType: MediaType.OCI_LAYER_GZIP, digest: d("3"), size: 200 },
      { mediaType: MediaType.OCI_LAYER_GZIP, digest: d("5"), size: 300 },
    ]);
    expect(image.manifest.mediaType).toBe(MediaType.OCI_MANIFEST);
    expect(image.manifest.config).toEqual({ mediaType: MediaType.OCI_CONFIG, digest: image.configDigest, size: image.configBytes.length });
    expect(image.config.history).toEqual([
      { created: "2024-01-02T03:04:05Z", created_by: "base" },
      { created: "1970-01-01T00:00:00Z", created_by: "flowpack: dependencies" },
      { created: "1970-01-01T00:00:00Z", created_by: "flowpack: app", comment: "bundle" },
    ]);
    expect(image.layers).toEqual([baseLayer, deps, app]);
  });

  it("applies config changes the way a Dockerfile would, and keeps unknown fields", () => {
    const { config } = assemble();
    expect(config.created).toBe("1970-01-01T00:00:00Z");
    expect(config.config).toEqual({
      Env: ["PATH=/app/bin:/usr/bin:/bin", "NODE_VERSION=20.20.2", "NODE_ENV=production"],
      Entrypoint: ["node", "/app/entry.mjs"],
      // Cmd from the base is cleared by a new entrypoint (as Dockerfile ENTRYPOINT does)
      User: "1000:1000",
      WorkingDir: "/app",
      Labels: { base: "yes", "org.opencontainers.image.title": "hello" },
      ExposedPorts: { "8080/tcp": {} },
      Healthcheck: { Test: ["NONE"] },
    });
    expect(config.container_config).toEqual({ Hostname: "builder" });
    const withCmd = assemble({ changes: { entrypoint: ["node"], cmd: ["/app/x.js"] } }).config.config;
    expect(withCmd).toMatchObject({ Entrypoint: ["node"], Cmd: ["/app/x.js"] });
    expect(assemble({ changes: { cmd: null } }).config.config?.Cmd).toBeUndefined();
  });

  it("produces canonical bytes whose digests are the sha256 of the bytes, identical on every run", () => {
    const a = assemble();
    const b = assemble();
    expect(a.configBytes.equals(b.configBytes)).toBe(true);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(a.configDigest).toBe(sha(a.configBytes));
    expect(a.manifestDigest).toBe(sha(a.manifestBytes));
    // stable key order: sorted at every level, no white space
    const text = a.configBytes.toString();
    expect(text.startsWith('{"architecture":"amd64","config":{"Entrypoint"')).toBe(true);
    expect(text).not.toMatch(/\s"/);
    // what we wrote parses back to the same thing
    expect(parseImageConfig(a.configBytes)).toEqual(a.config);
    expect(parseImageManifest(a.manifestBytes)).toEqual(a.manifest);
  });

  it("stamps `created` from the option or SOURCE_DATE_EPOCH", () => {
    expect(assemble({ created: new Date(Date.UTC(2025, 0, 1)) }).config.created).toBe("2025-01-01T00:00:00Z");
    const previous = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = "1700000000";
    try {
      const image = assemble();
      expect(image.config.created).toBe("2023-11-14T22:13:20Z");
      expect(image.config.history?.at(-1)?.created).toBe("2023-11-14T22:13:20Z");
    } finally {
      if (previous === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = previous;
    }
  });

  it("writes Docker media types on request (appended gzip layers renamed, base kept)", () => {
    const image = assemble({ format: "docker" });
    expect(image.manifest.mediaType).toBe(MediaType.DOCKER_MANIFEST);
    expect(image.manifest.config.mediaType).toBe(MediaType.DOCKER_CONFIG);
    expect(image.manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.DOCKER_LAYER_GZIP,
      MediaType.DOCKER_LAYER_GZIP,
      MediaType.DOCKER_LAYER_GZIP,
    ]);
    expect(() => assemble({ format: "docker", annotations: { a: "b" } })).toThrow(/no annotations/);
  });

  it("records annotations and config-only history", () => {
    const image = assemble({
      annotations: baseImageAnnotations("docker.io/library/node:20", d("9")),
      configHistory: [{ created_by: "flowpack: config" }],
    });
    expect(image.manifest.annotations).toEqual({
      "org.opencontainers.image.base.name": "docker.io/library/node:20",
      "org.opencontainers.image.base.digest": d("9"),
    });
    expect(image.config.history?.at(-1)).toEqual({ created: "1970-01-01T00:00:00Z", created_by: "flowpack: config", empty_layer: true });
  });

  it("gives a base without history one entry per layer", () => {
    const image = assembleImage({ config: { ...baseConfig, history: undefined }, layers: [baseLayer] }, { layers: [{ layer: app }] });
    expect(image.config.history).toHaveLength(2);
  });

  it("refuses inconsistent bases and bad changes, naming what is wrong", () => {
    expect(() => assembleImage({ config: baseConfig, layers: [] })).toThrow(/lists 1 diff_ids but the base has 0 layers/);
    expect(() => assembleImage({ config: baseConfig, layers: [{ ...baseLayer, diffId: d("f") }] })).toThrow(/has diffID sha256:f+, but the config says/);
    expect(() => assemble({ changes: { env: { "A=B": "x" } } })).toThrow(/environment variable name "A=B"/);
    expect(() => assemble({ changes: { workingDir: "app" } })).toThrow(/workingDir must be an absolute path/);
    expect(() => assemble({ changes: { exposedPorts: ["http"] } })).toThrow(/exposed port "http"/);
    expect(() => assemble({ layers: [{ layer: { ...app, mediaType: "application/json" } }] })).toThrow(ImageFormatError);
  });
});
