import { readFileSync } from "node:fs";
import { join } from "node:path";

/** What scripts/services.sh started: read from its services.json. */
export interface Services {
  DOCKER_HOST: string;
  FLOWPACK_TEST_REGISTRY: string;
  FLOWPACK_TEST_AUTH_REGISTRY: string;
  FLOWPACK_TEST_AUTH_USER: string;
  FLOWPACK_TEST_AUTH_PASSWORD: string;
  FLOWPACK_TEST_BASE_IMAGE: string;
  FLOWPACK_TEST_BASE_IMAGE_DIGEST: string;
  FLOWPACK_TEST_BASE_LAYOUT: string;
  /** A Podman service's Docker-compatible API (unix://…), with the base image loaded. */
  FLOWPACK_TEST_PODMAN_HOST: string;
  FLOWPACK_SERVICES_DIR: string;
  /** The swarm worker's dockerd (unix://…); the manager is DOCKER_HOST. Absent with FLOWPACK_SKIP_SWARM=1. */
  FLOWPACK_TEST_SWARM_WORKER_HOST: string;
  FLOWPACK_TEST_SWARM_MANAGER_NODE: string;
  FLOWPACK_TEST_SWARM_WORKER_NODE: string;
  FLOWPACK_TEST_SWARM_MANAGER_ADDR: string;
  FLOWPACK_TEST_SWARM_WORKER_ADDR: string;
}

let cached: Services | undefined;

export function services(): Services {
  if (cached) return cached;
  const dir = process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services";
  try {
    cached = JSON.parse(readFileSync(join(dir, "services.json"), "utf8")) as Services;
  } catch {
    throw new Error(`test services are not running (no ${dir}/services.json): run bash scripts/services.sh start`);
  }
  return cached;
}
