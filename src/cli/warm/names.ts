import { runsInCi } from "../../_internal/ci.js";

/**
 * The names and the choice the CLI's entry needs before it loads anything of warm processes (see
 * warm/server.ts): this module imports nothing else, so a CLI that does not use them pays nothing
 * for them.
 */

/** `FLOWPACK_WARM`: whether a one-shot `package` hands its work to a warm process, and leaves one behind (warmChoice). */
export const WARM_VARIABLE = "FLOWPACK_WARM";
/** Set by the client in the environment of the warm process it starts (which removes it). */
export const SERVE_VARIABLE = "FLOWPACK_WARM_SOCKET";
/** The key a warm process checks every build request against (set and removed as SERVE_VARIABLE). */
export const KEY_VARIABLE = "FLOWPACK_WARM_KEY";

/**
 * Whether `argv` is a command a warm process serves: a one-shot `package` (not `--watch`, not help).
 * A group that only looks like one (`-ow.json`) is built in its own process: no harm.
 */
export function servedWarm(argv: readonly string[]): boolean {
  const words = argv.filter((arg) => arg !== "--json" && arg !== "--debug");
  return words[0] === "package" && !givesFlag(argv, "--watch", "w") && !givesFlag(argv, "--help", "h");
}

/** `-q`/`--quiet` among the arguments (a group that only looks like it, `-oq.json`, errs to quiet). */
export function quietIn(argv: readonly string[]): boolean {
  return givesFlag(argv, "--quiet", "q");
}

/**
 * Whether `argv` gives the flag `long` or its one-letter `short` form, read before the program
 * parses it. Short flags may come together (`-qw`): any group of them with the letter counts.
 */
function givesFlag(argv: readonly string[], long: string, short: string): boolean {
  const group = new RegExp(`^-[^-]*${short}`);
  return argv.some((arg) => arg === long || group.test(arg));
}

const ON = new Set(["1", "true", "on", "yes"]);
const OFF = new Set(["0", "false", "off", "no"]);

/**
 * Whether a one-shot `package` uses warm processes. FLOWPACK_WARM=1 (or true, on, yes): always;
 * =0 (false, off, no): never. Unset or empty: whenever stderr is a terminal outside CI
 * (`stderrIsTty`, runsInCi), where the next `package` from the same folder tends to follow within
 * minutes (the inner loop of a person at work, as Nx's and Gradle's daemons assume); not in CI
 * jobs, cron or image builds (no terminal), where nothing would reuse it. Any other value is `invalid` (the caller says so) and the
 * default applies; `byDefault` tells the default's choices from the variable's.
 */
export function warmChoice(env: NodeJS.ProcessEnv, stderrIsTty: boolean): { warm: boolean; byDefault: boolean; invalid?: string } {
  const value = env[WARM_VARIABLE]?.trim() ?? "";
  if (ON.has(value.toLowerCase())) return { warm: true, byDefault: false };
  if (OFF.has(value.toLowerCase())) return { warm: false, byDefault: false };
  const warm = stderrIsTty && !runsInCi(env);
  return value === "" ? { warm, byDefault: true } : { warm, byDefault: true, invalid: value };
}
