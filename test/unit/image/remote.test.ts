import { describe, expect, it } from "vitest";
import { assembleImage } from "../../../src/image/image.js";
import { ImageFormatError } from "../../../src/errors.js";
import { MediaType } from "../../../src/oci/media-types.js";
import { readRemoteImage } from "../../../src/image/remote.js";
import type { RegistryClient } from "../../../src/registry/client.js";
import { syntheticBase } from "./helpers.js";

/** A registry client that serves one single-platform image (any reference → its manifest). */
async function fakeClient(os: string, architecture: string): Promise<RegistryClient> {
  const base = await syntheticBase();
  const image = assembleImage({ ...base, config: { ...base.config, os, architecture } }, { layers: [] });
  return {
    endpoint: { name: "registry.test" },
    getManifest: async () => ({ bytes: image.manifestBytes, mediaType: MediaType.OCI_MANIFEST, digest: image.manifestDigest }),
    getBlob: async () => image.configBytes,
  } as unknown as RegistryClient;
}

describe("readRemoteImage", () => {
  it("reads an image whose config is for the wanted platform", async () => {
    const image = await readRemoteImage(await fakeClient("linux", "amd64"), "team/base", "1", { os: "linux", architecture: "amd64" });
    expect(image.config.architecture).toBe("amd64");
  });

  it.each([
    ["windows", "amd64", "linux/amd64"],
    ["linux", "amd64", "linux/arm64"],
  ])("refuses a %s/%s image asked for %s, naming both", async (os, architecture, wanted) => {
    const [wantedOs, wantedArchitecture] = wanted.split("/") as [string, string];
    const error = await readRemoteImage(await fakeClient(os, architecture), "team/base", "1", { os: wantedOs, architecture: wantedArchitecture }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageFormatError);
    expect((error as Error).message).toBe(`team/base:1 is built for ${os}/${architecture}, not ${wanted}`);
  });
});
