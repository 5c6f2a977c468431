import { AsyncLocalStorage } from "node:async_hooks";
import { readFile } from "node:fs/promises";
import { parseEnv } from "node:util";
import { UsageError } from "../errors.js";
import { onPath } from "./fs-errors.js";

/** Environment variables given to a flow: names and values, never logged. */
export type FlowEnv = Record<string, string>;

/** What `--env` and `--env-file` were given, each in command-line order. */
export interface EnvSources {
  /** `KEY=VALUE`, or `KEY` alone (its value taken from `hostEnv`). */
  pairs?: string[];
  /** dotenv files: `KEY=VALUE` lines, `#` comments, quoted values, `export` prefixes. */
  files?: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Refuses a name that no environment could hold; the value is never part of the message. */
function checkEnvName(name: string, where: string): void {
  if (!NAME.test(name)) throw new UsageError(`${where}: ${JSON.stringify(name)} is not a variable name`, { hint: "names are letters, digits and _, not starting with a digit" });
}

/**
 * The variables `--env-file` and `--env` give, files first, then pairs; a later one wins over an
 * earlier one (so `--env` overrides a file, as with `docker run`). `--env KEY` takes KEY's value
 * from `hostEnv` and is refused when it is not set there. No message ever carries a value.
 */
export async function resolveEnv(sources: EnvSources, hostEnv: NodeJS.ProcessEnv = process.env): Promise<FlowEnv> {
  const env: FlowEnv = {};
  for (const file of sources.files ?? []) {
    const text = await onPath(file, { action: "read the --env-file", owner: "user", hint: "check the path given to --env-file" }, () => readFile(file, "utf8"));
    for (const [name, value] of Object.entries(parseEnv(text))) {
      checkEnvName(name, `--env-file ${file}`);
      if (value !== undefined) env[name] = value;
    }
  }
  for (const pair of sources.pairs ?? []) {
    const eq = pair.indexOf("=");
    const name = eq === -1 ? pair : pair.slice(0, eq);
    checkEnvName(name, "--env");
    if (eq !== -1) {
      env[name] = pair.slice(eq + 1);
      continue;
    }
    const value = hostEnv[name];
    if (value === undefined) throw new UsageError(`--env ${name}: ${name} is not set in this environment`, { hint: `set it, or give its value: --env ${name}=VALUE` });
    env[name] = value;
  }
  return env;
}

/**
 * What a run from an OCI layout keeps of this process's environment, as a container would have
 * its own: the search path, home, temporary folder, time zone and locale, and flowpack's log
 * settings. Everything else (tokens, DOCKER_*, cloud credentials) is not seen by the flow.
 */
export const LAYOUT_HOST_ENV = ["PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "FLOWPACK_LOG_LEVEL", "FLOWPACK_DEBUG"] as const;

/** The environment a layout run's flow sees: LAYOUT_HOST_ENV from `hostEnv`, then the image config's `Env`, then `env`. */
export function layoutEnv(imageEnv: readonly string[], env: FlowEnv, hostEnv: NodeJS.ProcessEnv = process.env): FlowEnv {
  const result: FlowEnv = {};
  for (const name of LAYOUT_HOST_ENV) {
    const value = hostEnv[name];
    if (value !== undefined) result[name] = value;
  }
  for (const entry of imageEnv) {
    const eq = entry.indexOf("=");
    if (eq > 0) result[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { ...result, ...env };
}

let queue: Promise<unknown> = Promise.resolve();
/** Set inside a withProcessEnv call: a nested one (a flow running a flow) must not wait for itself. */
const holding = new AsyncLocalStorage<true>();

/**
 * Runs `work` with `process.env` changed in place (so native code's getenv sees it too), and puts
 * it back afterwards, on every way out. `inherit`: this environment plus `env`; `replace`: `env`
 * alone. process.env is one per process, so such runs take turns: one waits for the other (a call
 * made from inside another's work runs at once, changing the environment on top of the outer one).
 */
export function withProcessEnv<T>(mode: "inherit" | "replace", env: FlowEnv, work: () => Promise<T>): Promise<T> {
  if (mode === "inherit" && Object.keys(env).length === 0) return work();
  const run = async (): Promise<T> => {
    const saved = { ...process.env };
    if (mode === "replace") for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
    Object.assign(process.env, env);
    try {
      return await work();
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  };
  if (holding.getStore()) return run();
  const held = () => holding.run(true, run);
  const result = queue.then(held, held);
  queue = result.catch(() => undefined);
  return result;
}
