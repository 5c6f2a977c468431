import { isSha256Digest } from "../oci/digest.js";
import { ManifestError } from "../errors.js";
import type { DockerPackageManifest } from "../manifest/schema.js";

/** Where a docker manifest's image lives, read from its `image` field. */
export type ImageSource =
  | { kind: "registry"; reference: string }
  | { kind: "daemon"; id: string }
  | { kind: "oci-layout"; dir: string; digest: string }
  | { kind: "docker-archive"; file: string; configDigest: string };

export function imageSource(image: string): ImageSource {
  const pinned = (prefix: string) => {
    const rest = image.slice(prefix.length);
    const at = rest.lastIndexOf("@");
    if (at <= 0 || !isSha256Digest(rest.slice(at + 1))) {
      throw new ManifestError(`image ${JSON.stringify(image)}: expected ${prefix}<path>@sha256:<digest>`);
    }
    return { path: rest.slice(0, at), digest: rest.slice(at + 1) };
  };
  if (image.startsWith("oci:")) {
    const { path, digest } = pinned("oci:");
    return { kind: "oci-layout", dir: path, digest };
  }
  if (image.startsWith("docker-archive:")) {
    const { path, digest } = pinned("docker-archive:");
    return { kind: "docker-archive", file: path, configDigest: digest };
  }
  if (isSha256Digest(image)) return { kind: "daemon", id: image };
  return { kind: "registry", reference: image };
}

/** The ref name a manifest's image was written under in its OCI layout: a hint only, the pinned digest decides. */
export function layoutTag(manifest: DockerPackageManifest): string | undefined {
  return manifest.metadata?.tag;
}
