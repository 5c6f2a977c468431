import { createRequire } from "node:module";
import type * as Esbuild from "esbuild";

/**
 * Starts esbuild's service (the platform binary it runs as a child process) now, for a bundling to
 * come: the CLI calls this as soon as it knows the command bundles, so that spawning the process and
 * its handshake (~20 ms here) overlap with loading the command instead of delaying the first build.
 * esbuild's JS API keeps one service per process, so the bundler's module (esbuild.ts) finds it
 * running. Best effort: where esbuild cannot start, the bundling reports why.
 */
export function startEsbuildService(): void {
  try {
    const esbuild = createRequire(import.meta.url)("esbuild") as typeof Esbuild;
    // The cheapest request there is; any request starts the service.
    esbuild.formatMessages([], { kind: "error" }).catch(() => undefined);
  } catch {
    // not installed or not loadable: bundling says so
  }
}
