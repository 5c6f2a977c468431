// Reads images back from the registry (directly from the upstream, so nothing here is counted as a
// tool's traffic): manifest, config, layer sizes, and layer blobs for the in-process limit.
const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);

async function get(url, { accept, timeoutMs = 120_000 } = {}) {
  const response = await fetch(url, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${response.statusText}`);
  return response;
}

const ARCH = { x64: "amd64", arm64: "arm64" }[process.arch] ?? process.arch;

/** The image's manifest (an index resolves to linux/<this arch>), its digest and its config. */
export async function readImage(registry, repository, reference) {
  let response = await get(`http://${registry}/v2/${repository}/manifests/${reference}`, { accept: ACCEPT });
  let digest = response.headers.get("docker-content-digest");
  let manifest = await response.json();
  const mediaType = manifest.mediaType ?? response.headers.get("content-type");
  if (INDEX_TYPES.has(mediaType)) {
    const entry = manifest.manifests.find((m) => m.platform?.os === "linux" && m.platform?.architecture === ARCH) ?? manifest.manifests[0];
    response = await get(`http://${registry}/v2/${repository}/manifests/${entry.digest}`, { accept: ACCEPT });
    digest = entry.digest;
    manifest = await response.json();
  }
  const config = await (await get(`http://${registry}/v2/${repository}/blobs/${manifest.config.digest}`)).json();
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = manifest.layers.map((layer, i) => ({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: diffIds[i] }));
  return { digest, mediaType: manifest.mediaType, configDigest: manifest.config.digest, config, layers };
}

/**
 * Sizes as the registry stores them: total = config + every layer (compressed); added = the
 * layers whose content (diffID) is not in the base image.
 */
export function imageSizes(image, base) {
  const baseDiffIds = new Set(base.layers.map((l) => l.diffId));
  const baseDigests = new Set(base.layers.map((l) => l.digest));
  const added = image.layers.filter((l) => !baseDiffIds.has(l.diffId) && !baseDigests.has(l.digest));
  return {
    layers: image.layers.length,
    totalBytes: image.layers.reduce((n, l) => n + l.size, 0),
    addedBytes: added.reduce((n, l) => n + l.size, 0),
    addedLayers: added.map((l) => ({ digest: l.digest, size: l.size, diffId: l.diffId })),
  };
}

/** One blob's bytes. */
export async function readBlob(registry, repository, digest) {
  return Buffer.from(await (await get(`http://${registry}/v2/${repository}/blobs/${digest}`, { timeoutMs: 300_000 })).arrayBuffer());
}

/** `host:port/path/name:tag@sha256:…` → parts. */
export function parseImageRef(ref) {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const rest = at >= 0 ? ref.slice(0, at) : ref;
  const slash = rest.indexOf("/");
  const host = rest.slice(0, slash);
  const path = rest.slice(slash + 1);
  const colon = path.lastIndexOf(":");
  return colon >= 0 ? { host, repository: path.slice(0, colon), tag: path.slice(colon + 1), digest } : { host, repository: path, tag: undefined, digest };
}

/**
 * Makes `toRepository:latest` the very same image as `fromRepository:fromTag` (same manifest bytes,
 * same digest) inside one registry: every blob is cross-mounted, nothing is uploaded.
 */
export async function aliasImage(registry, fromRepository, fromTag, toRepository, toTag = "latest") {
  const response = await get(`http://${registry}/v2/${fromRepository}/manifests/${fromTag}`, { accept: ACCEPT });
  const mediaType = response.headers.get("content-type");
  const bytes = Buffer.from(await response.arrayBuffer());
  const manifest = JSON.parse(bytes.toString("utf8"));
  if (INDEX_TYPES.has(manifest.mediaType ?? mediaType)) throw new Error(`${fromRepository}:${fromTag} is an index; alias a platform manifest`);
  for (const blob of [manifest.config, ...manifest.layers]) {
    const mount = await fetch(`http://${registry}/v2/${toRepository}/blobs/uploads/?mount=${blob.digest}&from=${fromRepository}`, { method: "POST", signal: AbortSignal.timeout(60_000) });
    await mount.arrayBuffer();
    if (mount.status !== 201) throw new Error(`mounting ${blob.digest} from ${fromRepository} into ${toRepository}: ${mount.status}`);
  }
  const put = await fetch(`http://${registry}/v2/${toRepository}/manifests/${toTag}`, { method: "PUT", headers: { "content-type": mediaType }, body: bytes, signal: AbortSignal.timeout(60_000) });
  await put.arrayBuffer();
  if (put.status !== 201) throw new Error(`PUT ${toRepository}:${toTag}: ${put.status}`);
  return put.headers.get("docker-content-digest");
}
