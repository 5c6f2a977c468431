import { runsInCi } from "../_internal/ci.js";
import type { ProgressEvent, ProgressListener } from "../progress.js";

/**
 * Renders progress on stderr. On a terminal: one live status line, rewritten in place (build step
 * or layer, with a byte count). Elsewhere (CI, pipes): plain lines, repeated messages dropped and
 * byte-level updates left out, so logs stay readable.
 */
export function createProgressRenderer(stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressListener & { done(): void } {
  if (quiet) return Object.assign(() => undefined, { done: () => undefined });
  const tty = Boolean(stream.isTTY) && !runsInCi(process.env);
  let live = false;
  let last = "";
  const render = (event: ProgressEvent) => {
    const bytes = event.total ? ` ${formatBytes(event.current ?? 0)}/${formatBytes(event.total)}` : "";
    const line = `${event.phase}: ${event.message}${bytes}`;
    if (tty) {
      const width = Math.max(20, (stream.columns ?? 100) - 1);
      stream.write(`\r\x1b[K${line.slice(0, width)}`);
      live = true;
      return;
    }
    if (event.current !== undefined && event.current !== event.total) return;
    if (line === last) return;
    last = line;
    stream.write(line + "\n");
  };
  return Object.assign(render, {
    done() {
      if (live) stream.write("\r\x1b[K");
      live = false;
    },
  });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
