import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { services } from "./services.js";

const exec = promisify(execFile);

/** The docker CLI against the test daemon (an independent client: not flowpack's code). */
export async function docker(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec("docker", args, {
      env: { ...process.env, DOCKER_HOST: services().DOCKER_HOST, ...options.env },
      timeout: options.timeoutMs ?? 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : 1 };
  }
}

/**
 * The tests' Podman service (unix://…). services.json names it; one written by a services.sh from
 * before Podman (another checkout sharing the state dir) does not, and then the socket is looked
 * for where services.sh puts it.
 */
export function podmanHost(): string {
  const named = services().FLOWPACK_TEST_PODMAN_HOST;
  if (named) return named;
  const socket = join(services().FLOWPACK_SERVICES_DIR, "podman", "podman.sock");
  if (existsSync(socket)) return `unix://${socket}`;
  throw new Error("the test services have no Podman (FLOWPACK_TEST_PODMAN_HOST): run bash scripts/services.sh start");
}

/** The docker CLI against the tests' Podman service (its Docker-compatible API). */
export function dockerOnPodman(args: string[], options: { timeoutMs?: number } = {}): ReturnType<typeof docker> {
  return docker(args, { ...options, env: { DOCKER_HOST: podmanHost() } });
}

/** skopeo refuses `repo:tag@digest`; the digest alone names the same image. */
function skopeoName(reference: string): string {
  const at = reference.indexOf("@");
  if (at === -1) return reference;
  const name = reference.slice(0, at);
  const colon = name.lastIndexOf(":");
  const withoutTag = colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
  return `${withoutTag}${reference.slice(at)}`;
}

/** `skopeo inspect` of an image in a loopback registry: the independent view of what was pushed. */
export async function skopeoInspect(reference: string, extra: string[] = []): Promise<{ Digest: string; Layers: string[]; Labels: Record<string, string> | null; raw: string }> {
  const { stdout } = await exec("skopeo", ["inspect", "--tls-verify=false", ...extra, `docker://${skopeoName(reference)}`], { timeout: 60_000 });
  return { ...(JSON.parse(stdout) as { Digest: string; Layers: string[]; Labels: Record<string, string> | null }), raw: stdout };
}

export async function skopeoRaw(reference: string, extra: string[] = []): Promise<string> {
  const { stdout } = await exec("skopeo", ["inspect", "--raw", "--tls-verify=false", ...extra, `docker://${skopeoName(reference)}`], { timeout: 60_000 });
  return stdout;
}
