// `flowpack package --watch`: the time from saving a one-line change to the new image being pushed
// and its manifest written, as a developer in an edit-push loop sees it.
import { performance } from "node:perf_hooks";
import { start } from "./proc.mjs";

const BUILT = /^ {2}built in \d+ ms/;

/**
 * Starts argv (a `flowpack package … --watch`), waits for its first build, then `edits` times:
 * calls edit(i) (which saves the change) and times until the process reports the next build.
 * Resolves { firstMs, ms: [...], failures } and stops the process (SIGINT, expects exit 130).
 */
export async function measureWatch({ argv, cwd, env, log, edits, edit, timeoutMs, onBuilt }) {
  let builds = 0;
  let errors = 0;
  let waiting;
  const lines = (line) => {
    if (BUILT.test(line)) {
      builds++;
      waiting?.();
    } else if (line.startsWith("flowpack: error:")) {
      errors++;
      waiting?.();
    }
  };
  const started = performance.now();
  const proc = start(argv, { cwd, env, log, lines });
  const next = (count, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: no build within ${timeoutMs / 1000} s`)), timeoutMs);
      const check = () => {
        if (errors > 0) return reject(new Error(`${what}: the watch reported an error (see the log)`));
        if (builds >= count) {
          clearTimeout(timer);
          waiting = undefined;
          resolve(performance.now());
        }
      };
      waiting = check;
      proc.exited.then(() => reject(new Error(`${what}: the watch exited`)));
      check();
    });
  try {
    const firstAt = await next(1, "first build");
    const firstMs = firstAt - started;
    const ms = [];
    for (let i = 0; i < edits; i++) {
      const before = builds;
      await new Promise((resolve) => setTimeout(resolve, 100)); // let the watcher settle after the last build
      const t0 = performance.now();
      edit(i);
      const t1 = await next(before + 1, `edit ${i + 1}`);
      ms.push(t1 - t0);
      await onBuilt?.(i);
    }
    return { firstMs, ms };
  } finally {
    await proc.stop(); // the log records its exit code (130 expected)
  }
}
