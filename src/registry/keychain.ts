/**
 * Credentials for a registry, found the way the docker CLI finds them in its config
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
 *
 *   1. `credHelpers[<host>]`: that helper decides (not found = anonymous);
 *   2. `credsStore`: the default helper; if it has nothing, fall through to
 *   3. `auths[<host>]`: `auth` (base64 "user:password"), or `username`/`password`,
 *      `identitytoken` (an OAuth2 refresh token), `registrytoken` (a bearer token used as is).
 *
 * Keys match like docker's: exactly, else after reducing both sides to a host name (a leading
 * `http://`/`https://` and any path are dropped), so `https://127.0.0.1:5000/v2/` matches
 * `127.0.0.1:5000`. Docker Hub (docker.io, index.docker.io, registry-1.docker.io) is stored under
 * `https://index.docker.io/v1/`.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { runCredentialHelper } from "./credential-helper.js";
import { DOCKER_HUB_CONFIG_KEY, resolveEndpoint } from "./host.js";
import { dockerConfigSchema, describeIssues, type DockerConfig } from "./schemas.js";

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker's `identitytoken`, or a helper's Username `<token>`). */
  identityToken?: string;
  /** A bearer token sent to the registry as is. */
  registryToken?: string;
  /** Where they came from, for messages (never secret): e.g. `docker config /home/me/.docker/config.json`. */
  source: string;
}

export interface Keychain {
  /** Credentials for a registry (`host[:port]`, or `docker.io`), or undefined for anonymous access. */
  resolve(registry: string): Promise<Credentials | undefined>;
  /** Where credentials would be looked up, for "how to fix" hints. */
  describe?(): string;
}

export interface DockerKeychainOptions {
  /** Directory holding config.json; default `$DOCKER_CONFIG`, else `~/.docker`. */
  configDir?: string;
  /** Environment for DOCKER_CONFIG/HOME lookup and for credential helpers (PATH). Default process.env. */
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
}

/** The host-name form docker compares config keys in. */
export function normalizeConfigKey(key: string): string {
  const withoutScheme = key.trim().replace(/^https?:\/\//i, "");
  const host = (withoutScheme.split("/", 1)[0] ?? "").toLowerCase();
  return host === "registry-1.docker.io" || host === "docker.io" ? "index.docker.io" : host;
}

/** What docker passes to helpers and looks up in `auths` for this registry. */
export function dockerConfigKey(registry: string): string {
  const endpoint = resolveEndpoint(registry);
  return endpoint.isDockerHub ? DOCKER_HUB_CONFIG_KEY : endpoint.name;
}

function lookup<T>(entries: Record<string, T> | undefined, key: string): T | undefined {
  if (!entries) return undefined;
  if (Object.hasOwn(entries, key)) return entries[key];
  const wanted = normalizeConfigKey(key);
  for (const [candidate, value] of Object.entries(entries)) {
    if (normalizeConfigKey(candidate) === wanted) return value;
  }
  return undefined;
}

export class DockerKeychain implements Keychain {
  readonly configPath: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #helperTimeoutMs: number | undefined;
  #config: Promise<DockerConfig> | undefined;

  constructor(options: DockerKeychainOptions = {}) {
    this.#env = options.env ?? process.env;
    const dir = options.configDir ?? this.#env.DOCKER_CONFIG ?? join(this.#env.HOME || homedir(), ".docker");
    this.configPath = join(dir, "config.json");
    this.#helperTimeoutMs = options.helperTimeoutMs;
  }

  describe(): string {
    return this.configPath;
  }

  async resolve(registry: string): Promise<Credentials | undefined> {
    const config = await this.#load();
    const key = dockerConfigKey(registry);

    const helper = lookup(config.credHelpers, key);
    if (helper) return this.#fromHelper(helper, key, `credHelpers in ${this.configPath}`);
    if (config.credsStore) {
      const stored = await this.#fromHelper(config.credsStore, key, `credsStore in ${this.configPath}`);
      if (stored) return stored;
    }
    const entry = lookup(config.auths, key);
    if (!entry) return undefined;
    const source = `docker config ${this.configPath}`;
    let { username, password } = entry;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) {
        throw new ConfigError(`the "auth" entry for ${key} in ${this.configPath} is not base64 of "user:password"`, {
          hint: `run "docker login ${registry}" again`,
        });
      }
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    const credentials: Credentials = { source };
    if (username) credentials.username = username;
    if (password) credentials.password = password;
    if (entry.identitytoken) credentials.identityToken = entry.identitytoken;
    if (entry.registrytoken) credentials.registryToken = entry.registrytoken;
    const empty = !credentials.password && !credentials.identityToken && !credentials.registryToken;
    return empty ? undefined : credentials;
  }

  async #fromHelper(name: string, serverAddress: string, configuredIn: string): Promise<Credentials | undefined> {
    const found = await runCredentialHelper(name, serverAddress, {
      env: this.#env,
      configuredIn,
      ...(this.#helperTimeoutMs === undefined ? {} : { timeoutMs: this.#helperTimeoutMs }),
    });
    if (!found) return undefined;
    const source = `credential helper docker-credential-${name}`;
    if (found.username === "<token>") return { identityToken: found.secret, source };
    return { username: found.username, password: found.secret, source };
  }

  #load(): Promise<DockerConfig> {
    this.#config ??= (async () => {
      let text: string;
      try {
        text = await readFile(this.configPath, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
        throw new ConfigError(`cannot read docker config ${this.configPath}: ${(error as Error).message}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ConfigError(`docker config ${this.configPath} is not valid JSON`, {
          hint: "fix or remove the file, or point DOCKER_CONFIG at another directory",
        });
      }
      const parsed = dockerConfigSchema.safeParse(json);
      if (!parsed.success) {
        throw new ConfigError(`docker config ${this.configPath} is invalid: ${describeIssues(parsed.error)}`);
      }
      return parsed.data;
    })();
    return this.#config;
  }
}

/** No credentials for anyone. */
export const anonymousKeychain: Keychain = {
  resolve: () => Promise.resolve(undefined),
  describe: () => "no keychain (anonymous)",
};

/** Fixed credentials per registry name (`host[:port]`); for programs that manage their own secrets. */
export function staticKeychain(entries: Record<string, Omit<Credentials, "source"> & { source?: string }>): Keychain {
  return {
    resolve(registry) {
      const entry = lookup(entries, dockerConfigKey(registry)) ?? lookup(entries, registry);
      return Promise.resolve(entry ? { source: "credentials given to flowpack", ...entry } : undefined);
    },
    describe: () => "credentials given to flowpack",
  };
}
