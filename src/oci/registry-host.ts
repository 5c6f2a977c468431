import { isIP } from "node:net";

/** Registry host names that mean something by themselves: Docker Hub's spellings, and this machine. */

export const DOCKER_HUB = "docker.io";
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** `docker.io` and its other spellings (index.docker.io, …), given as a lower-case `host[:port]`. */
export function isDockerHubHost(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host);
}

export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith("127.");
  if (family === 6) {
    if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
    // IPv4-mapped loopback: ::ffff:127.x.y.z, which URL normalises to ::ffff:7fxx:xxxx.
    return /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host);
  }
  return false;
}
