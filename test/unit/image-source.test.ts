import { describe, expect, it } from "vitest";
import { ManifestError } from "../../src/errors.js";
import { imageSource } from "../../src/run/image-source.js";

const hex = "0123456789abcdef".repeat(4);
const digest = `sha256:${hex}`;

describe("imageSource", () => {
  it("reads a registry reference, tagged and/or digest-pinned", () => {
    expect(imageSource(`ghcr.io/acme/flows/etl:fp-1@${digest}`)).toEqual({ kind: "registry", reference: `ghcr.io/acme/flows/etl:fp-1@${digest}` });
    expect(imageSource("127.0.0.1:5000/etl:latest")).toEqual({ kind: "registry", reference: "127.0.0.1:5000/etl:latest" });
    expect(imageSource(`etl@${digest}`)).toEqual({ kind: "registry", reference: `etl@${digest}` });
  });

  it("reads a local image ID as a daemon image", () => {
    expect(imageSource(digest)).toEqual({ kind: "daemon", id: digest });
  });

  it("reads an OCI layout folder pinned by digest", () => {
    expect(imageSource(`oci:/tmp/layouts/etl@${digest}`)).toEqual({ kind: "oci-layout", dir: "/tmp/layouts/etl", digest });
    expect(imageSource(`oci:./out@dir@${digest}`)).toEqual({ kind: "oci-layout", dir: "./out@dir", digest });
  });

  it("reads a docker-archive file pinned by its config digest", () => {
    expect(imageSource(`docker-archive:/tmp/etl.tar@${digest}`)).toEqual({ kind: "docker-archive", file: "/tmp/etl.tar", configDigest: digest });
  });

  it.each([
    ["oci:/tmp/layout", "oci:"],
    [`oci:@${digest}`, "oci:"],
    ["oci:/tmp/layout@sha256:abc", "oci:"],
    [`oci:/tmp/layout@sha256:${hex.toUpperCase()}`, "oci:"],
    [`oci:/tmp/layout@sha512:${hex}${hex}`, "oci:"],
    ["docker-archive:/tmp/etl.tar", "docker-archive:"],
    [`docker-archive:@${digest}`, "docker-archive:"],
    [`docker-archive:/tmp/etl.tar@${digest}x`, "docker-archive:"],
  ])("refuses the malformed %s", (image, prefix) => {
    let error: unknown;
    try {
      imageSource(image);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).message).toBe(`image ${JSON.stringify(image)}: expected ${prefix}<path>@sha256:<digest>`);
    expect((error as ManifestError).exitCode).toBe(2);
  });
});
