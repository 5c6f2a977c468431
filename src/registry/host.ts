/**
 * One registry host: its normalised name, the host we actually talk to (Docker Hub's API lives at
 * registry-1.docker.io), and the scheme. Plain http is used only for loopback hosts
 * (127.0.0.0/8, ::1, localhost) or hosts the caller explicitly marked insecure; everything else is
 * https.
 */
import { ConfigError } from "../errors.js";
import { DOCKER_HUB, DOCKER_HUB_API_HOST, isDockerHubHost, isLoopbackHostname } from "../oci/registry-host.js";

/** The key Docker Hub credentials live under in a docker config, and what helpers are asked for. */
export const DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/";

export interface RegistryEndpoint {
  /** The registry as people name it: `host[:port]`, lower-case; `docker.io` for Docker Hub. */
  readonly name: string;
  /** `host[:port]` requests go to. */
  readonly apiHost: string;
  readonly scheme: "http" | "https";
  /** `scheme://apiHost`. */
  readonly origin: string;
  readonly isDockerHub: boolean;
  /** Marked insecure by the caller: http for this host, and for URLs it sends us to. */
  readonly insecure: boolean;
}

export interface EndpointOptions {
  /** Allow plain http for this (non-loopback) host. */
  insecure?: boolean;
  /** Speak https even to a loopback host (the user wrote https:// explicitly, e.g. a port-forwarded TLS registry). */
  secure?: boolean;
}


/** Parses `host[:port]` (IPv6 in brackets); rejects schemes, paths, userinfo and queries. */
export function resolveEndpoint(host: string, options: EndpointOptions = {}): RegistryEndpoint {
  const input = host.trim();
  let url: URL | undefined;
  if (input && !/[/?#@\s]/.test(input)) {
    try {
      url = new URL(`http://${input}`);
    } catch {
      url = undefined;
    }
  }
  if (!url || !url.hostname) {
    throw new ConfigError(`invalid registry host "${host}": expected host[:port], e.g. ghcr.io or 127.0.0.1:5000`, {
      hint: /^[a-z]+:\/\//i.test(input) ? "leave out the scheme; mark plain-http registries insecure instead" : undefined,
    });
  }
  const name = url.host.toLowerCase();
  const isDockerHub = isDockerHubHost(name);
  const apiHost = isDockerHub ? DOCKER_HUB_API_HOST : name;
  const insecure = options.insecure === true && !isDockerHub;
  const scheme = !isDockerHub && !options.secure && (insecure || isLoopbackHostname(url.hostname)) ? "http" : "https";
  return {
    name: isDockerHub ? DOCKER_HUB : name,
    apiHost,
    scheme,
    origin: `${scheme}://${apiHost}`,
    isDockerHub,
    insecure,
  };
}

/**
 * Whether a URL the registry sent us to (redirect, upload location, token realm) may be used: https
 * always; http only to a loopback host, or anywhere for a registry explicitly marked insecure.
 */
export function isUrlAllowed(url: URL, endpoint: RegistryEndpoint): boolean {
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  return isLoopbackHostname(url.hostname) || endpoint.insecure;
}
