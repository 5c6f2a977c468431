/**
 * The names the CLI's entry needs before it loads anything of warm processes (see warm/server.ts):
 * this module imports nothing, so a CLI that does not use them pays nothing for them.
 */

/** `FLOWPACK_WARM=1`: a one-shot `package` hands its work to a warm process, and leaves one behind. */
export const WARM_VARIABLE = "FLOWPACK_WARM";
/** Set by the client in the environment of the warm process it starts (which removes it). */
export const SERVE_VARIABLE = "FLOWPACK_WARM_SOCKET";
/** The key a warm process checks every build request against (set and removed as SERVE_VARIABLE). */
export const KEY_VARIABLE = "FLOWPACK_WARM_KEY";

/**
 * Whether `argv` is a command a warm process serves: a one-shot `package` (not `--watch`, not help).
 * Short flags may come together (`-qw`): any group of them with a `w` or an `h` counts as watch or
 * help (a group that only looks like one, `-ow.json`, is built in its own process: no harm).
 */
export function servedWarm(argv: readonly string[]): boolean {
  const words = argv.filter((arg) => arg !== "--json" && arg !== "--debug");
  return words[0] === "package" && !argv.some((arg) => arg === "--watch" || arg === "--help" || /^-[^-]*[wh]/.test(arg));
}
