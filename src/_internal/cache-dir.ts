import { homedir } from "node:os";
import { join } from "node:path";

/** flowpack's per-user cache folder: `$FLOWPACK_CACHE_DIR`, else `$XDG_CACHE_HOME/flowpack`, else `~/.cache/flowpack`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOWPACK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flowpack");
}
