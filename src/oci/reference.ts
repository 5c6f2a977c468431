import { isIP } from "node:net";
import { isSha256Digest, type Sha256Digest } from "./digest.js";
import { ImageReferenceError } from "../errors.js";
import { DOCKER_HUB, DOCKER_HUB_API_HOST, isDockerHubHost, isLoopbackHostname } from "./registry-host.js";

/**
 * Image references: `[host[:port]/]path[:tag][@sha256:<hex>]`, with Docker Hub normalisation
 * (`node:20` → `docker.io/library/node:20`). The grammar follows the distribution project's
 * reference package; every rejection names the rule that was broken.
 */

export interface ImageReference {
  /** Registry name as written in references: `docker.io`, `ghcr.io`, `127.0.0.1:5555`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path inside the registry: `library/node`, `team/app`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Sha256Digest | undefined;
}

export interface ParseReferenceOptions {
  /** Tag used when the reference has neither tag nor digest (default `latest`; `null` leaves it unset). */
  defaultTag?: string | null;
}

export const DEFAULT_TAG = "latest";

export const PATH_COMPONENT_RULE = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
export const TAG_RULE = "[\\w][\\w.-]{0,127}";
export const DIGEST_RULE = "sha256:[a-f0-9]{64}";
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = new RegExp(`^${PATH_COMPONENT_RULE}$`);
const TAG = new RegExp(`^${TAG_RULE}$`);
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:.]+\\])(?::([0-9]+))?$`);

function fail(input: string, rule: string): never {
  throw new ImageReferenceError(`invalid image reference ${JSON.stringify(input)}: ${rule}`, {
    hint: "references look like [host[:port]/]path[:tag][@sha256:<64 hex digits>], e.g. node:20 or ghcr.io/acme/app:1.2",
  });
}

export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  if (typeof input !== "string" || input.length === 0) fail(String(input), "the reference is empty");
  if (/\s/.test(input)) fail(input, "references contain no white space");

  let rest = input;
  let digest: Sha256Digest | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    const raw = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (raw.length === 0) fail(input, "the digest after '@' is empty");
    if (!raw.startsWith("sha256:")) {
      fail(input, `digest ${JSON.stringify(raw)} uses an unsupported algorithm (only sha256 digests are supported)`);
    }
    if (!isSha256Digest(raw)) fail(input, `digest ${JSON.stringify(raw)} must match ${DIGEST_RULE} (64 lowercase hex digits)`);
    digest = raw as Sha256Digest;
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag.length === 0) fail(input, "the tag after ':' is empty");
    if (!TAG.test(tag)) {
      fail(
        input,
        `tag ${JSON.stringify(tag)} must match ${TAG_RULE} (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`,
      );
    }
  }
  if (rest.length === 0) fail(input, "the repository name is empty");

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()) {
      registry = normaliseRegistry(input, first);
      path = rest.slice(slash + 1);
    }
  }
  if (path.length === 0) fail(input, "the repository path is empty");
  for (const component of path.split("/")) {
    if (component.length === 0) fail(input, "the repository path has an empty component (doubled or trailing '/')");
    if (!PATH_COMPONENT.test(component)) {
      const why = component !== component.toLowerCase() ? " (repository names must be lowercase)" : "";
      fail(input, `repository path component ${JSON.stringify(component)} must match ${PATH_COMPONENT_RULE}${why}`);
    }
  }
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) {
    fail(input, `the repository name must not be longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag === undefined && digest === undefined) {
    const fallback = options.defaultTag === undefined ? DEFAULT_TAG : options.defaultTag;
    if (fallback !== null) {
      if (!TAG.test(fallback)) fail(input, `default tag ${JSON.stringify(fallback)} must match ${TAG_RULE}`);
      tag = fallback;
    }
  }
  return Object.freeze({ registry, path, tag, digest });
}

function normaliseRegistry(input: string, host: string): string {
  const match = HOST.exec(host);
  if (!match) {
    fail(input, `registry host ${JSON.stringify(host)} must be a host name or [IPv6] address with an optional :port`);
  }
  const port = match[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || /^0/.test(port))) {
    fail(input, `registry port ${port} must be a number from 1 to 65535`);
  }
  if (host.startsWith("[") && isIP(host.slice(1, host.indexOf("]"))) !== 6) {
    fail(input, `registry host ${JSON.stringify(host)} has an invalid IPv6 address`);
  }
  const lower = host.toLowerCase();
  return isDockerHubHost(lower) ? DOCKER_HUB : lower;
}

/** `registry/path[:tag][@digest]`, fully qualified (`docker.io/library/node:20`). */
export function formatReference(ref: ImageReference): string {
  return `${repository(ref)}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** Docker's short form: `node:20`, `acme/app:1`, `ghcr.io/acme/app:1`. */
export function familiarReference(ref: ImageReference): string {
  let name = repository(ref);
  if (ref.registry === DOCKER_HUB) {
    name = ref.path.startsWith("library/") && ref.path.split("/").length === 2 ? ref.path.slice(8) : ref.path;
  }
  return `${name}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** The same image pinned to `digest` (the tag is kept for readability). */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  if (!isSha256Digest(digest)) {
    throw new ImageReferenceError(`invalid digest ${JSON.stringify(digest)}: must match ${DIGEST_RULE}`);
  }
  return Object.freeze({ ...ref, digest: digest as Sha256Digest });
}

/** The same repository at `tag`; any digest is dropped (it identified the old tag's content). */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!TAG.test(tag)) {
    throw new ImageReferenceError(`invalid tag ${JSON.stringify(tag)}: must match ${TAG_RULE}`);
  }
  return Object.freeze({ ...ref, tag, digest: undefined });
}

/** `registry/path` without tag or digest: `docker.io/library/node`. */
export function repository(ref: ImageReference): string {
  return `${ref.registry}/${ref.path}`;
}

/** The host[:port] to open HTTP connections to (`registry-1.docker.io` for Docker Hub). */
export function registryHost(refOrRegistry: ImageReference | string): string {
  const registry = typeof refOrRegistry === "string" ? refOrRegistry : refOrRegistry.registry;
  return isDockerHubHost(registry) ? DOCKER_HUB_API_HOST : registry;
}

/**
 * True for hosts that only this machine can reach: `localhost` (and `*.localhost`), `127.0.0.0/8`,
 * `::1` (also as `[::1]:port`). Registries on such hosts are usually spoken to over plain HTTP.
 */
export function isLoopbackHost(hostWithPort: string): boolean {
  const value = hostWithPort.trim();
  if (value === "" || /[/?#@\s]/.test(value)) return false;
  let hostname: string;
  try {
    // A bare IPv6 address (`::1`) has colons but no port; the URL parser normalises every spelling.
    hostname = new URL(isIP(value) === 6 ? `http://[${value}]` : `http://${value}`).hostname;
  } catch {
    return false;
  }
  return isLoopbackHostname(hostname);
}
