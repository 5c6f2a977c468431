import type Docker from "dockerode";
import { PushError } from "../errors.js";
import { isSha256Digest } from "../oci/digest.js";
import { ignoreProgress, type ProgressListener } from "../progress.js";
import type { Credentials } from "../registry/keychain.js";
import { SecretSet } from "../registry/redact.js";
import { setOptions } from "./client.js";
import { reasonOf } from "./engine-error.js";
import { engineMessages, messageError } from "./stream.js";

/** The X-Registry-Auth payload the Engine expects. */
export function engineAuthConfig(credentials: Credentials | undefined, serverAddress: string): Record<string, string> | undefined {
  if (!credentials) return undefined;
  if (credentials.identityToken) return { identitytoken: credentials.identityToken, serveraddress: serverAddress };
  if (credentials.registryToken) return { registrytoken: credentials.registryToken, serveraddress: serverAddress };
  return { username: credentials.username ?? "", password: credentials.password ?? "", serveraddress: serverAddress };
}

/**
 * The X-Registry-Auth header's value: the payload as URL-safe base64 *with* its `=` padding, as the
 * docker CLI and docker-modem send it (the daemon decodes it strictly, and ignores an auth config it
 * cannot decode: the pull would then go out without credentials).
 */
export function registryAuthHeader(auth: Record<string, string>): string {
  return Buffer.from(JSON.stringify(auth)).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** Every form the credentials could take in a daemon's message (plain, URL-encoded, base64, Basic). */
function secretsOf(credentials: Credentials | undefined): SecretSet {
  const secrets = new SecretSet();
  if (credentials) {
    const { username, password, identityToken, registryToken } = credentials;
    secrets.add(password, identityToken, registryToken, username && password ? `${username}:${password}` : undefined);
  }
  return secrets;
}

export interface EnginePushOptions {
  credentials?: Credentials;
  /** `host[:port]` of the registry, for auth. */
  registryHost: string;
  onProgress?: ProgressListener;
}

/**
 * Tags the image `repository:tag`, pushes it through the Engine and returns the manifest digest
 * the registry stored. Errors inside the push stream become PushErrors with no secret in them.
 * The temporary local tag is removed afterwards, also when the push fails.
 */
export async function pushImage(docker: Docker, imageId: string, repository: string, tag: string, options: EnginePushOptions): Promise<string> {
  const onProgress = options.onProgress ?? ignoreProgress;
  const secrets = secretsOf(options.credentials);
  const safe = (text: string) => secrets.redact(text);
  await docker.getImage(imageId).tag({ repo: repository, tag });
  const reference = `${repository}:${tag}`;
  try {
    let stream: NodeJS.ReadableStream;
    try {
      // The Engine API names the repository in the path and the tag in the query (Podman refuses `repo:tag` plus `tag`).
      const pushing = docker.getImage(repository).push(setOptions({ tag, authconfig: engineAuthConfig(options.credentials, options.registryHost) }) as never);
      stream = (await pushing) as unknown as NodeJS.ReadableStream;
    } catch (error) {
      throw new PushError(`push of ${reference} failed: ${safe(reasonOf(error))}`);
    }
    let digest: string | undefined;
    for await (const message of engineMessages(stream)) {
      const failure = messageError(message);
      if (failure) {
        const unauthorized = /unauthorized|authentication required|denied|forbidden|no basic auth credentials/i.test(failure);
        throw new PushError(`push of ${reference} failed: ${safe(failure.trim())}`, {
          hint: unauthorized ? `check the credentials for ${options.registryHost} (docker login ${options.registryHost}, or DOCKER_CONFIG)` : undefined,
        });
      }
      if (message.aux?.Digest) digest = message.aux.Digest;
      // Podman sends no `aux`; the digest is only in the status line Docker also prints ("<tag>: digest: sha256:… size: 899").
      digest ??= /\bdigest: (sha256:[a-f0-9]{64}) size: \d+/.exec(message.status ?? "")?.[1];
      if (message.status) {
        const total = message.progressDetail?.total;
        onProgress({ phase: "push", message: `${message.id ? `${message.id}: ` : ""}${message.status}`, id: message.id, current: message.progressDetail?.current, total });
      }
    }
    if (!digest || !isSha256Digest(digest)) {
      throw new PushError(`push of ${reference} finished without the registry reporting a manifest digest`);
    }
    return digest;
  } finally {
    await docker.getImage(reference).remove({ noprune: true }).catch(() => undefined);
  }
}
