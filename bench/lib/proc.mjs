// Child processes with a hard timeout, output captured to memory (and optionally a log file),
// every process in its own group so a timeout or an interrupt ends the whole tree.
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const running = new Set();

export class CommandError extends Error {
  constructor(message, result) {
    super(message);
    this.result = result;
  }
}

/** Quote argv for display (POSIX shell). */
export function shellQuote(argv) {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${String(a).replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * Runs argv; resolves { code, stdout, stderr, ms }. Rejects with CommandError on a non-zero exit
 * (unless allowFailure) or a timeout. `log` appends the command and its output to a file.
 */
export function run(argv, { cwd, env, timeoutMs = 600_000, input, log, allowFailure = false, maxBuffer = 64 << 20 } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), { cwd, env: env ?? process.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    running.add(child);
    const out = [];
    const err = [];
    let outBytes = 0;
    let timedOut = false;
    child.stdout.on("data", (c) => {
      if ((outBytes += c.length) <= maxBuffer) out.push(c);
    });
    child.stderr.on("data", (c) => {
      if (err.reduce((n, b) => n + b.length, 0) < maxBuffer) err.push(c);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGTERM");
      setTimeout(() => killGroup(child, "SIGKILL"), 5_000).unref();
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new CommandError(`cannot start ${argv[0]}: ${e.message}`, { code: -1, stdout: "", stderr: "", ms: 0 }));
    });
    child.on("close", (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      running.delete(child);
      const result = { code: code ?? -1, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ms };
      if (log) {
        try {
          appendFileSync(log, `\n$ ${shellQuote(argv)}${cwd ? `   (in ${cwd})` : ""}\n# exit ${result.code}${signal ? ` ${signal}` : ""} after ${(ms / 1000).toFixed(2)} s\n${result.stdout}${result.stderr}`);
        } catch {
          // logging is best effort
        }
      }
      if (timedOut) return reject(new CommandError(`timed out after ${timeoutMs / 1000} s: ${shellQuote(argv)}`, result));
      if (result.code !== 0 && !allowFailure) {
        const tail = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n");
        return reject(new CommandError(`exit ${result.code}: ${shellQuote(argv)}\n${tail}`, result));
      }
      resolve(result);
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Ends every child still running (their whole process groups). */
export function killAll() {
  for (const child of running) killGroup(child, "SIGKILL");
  running.clear();
}

/**
 * Starts a long-running argv (own process group, ended by killAll too). `lines` gets each line of
 * its stderr as it comes; stop() sends SIGINT and resolves with its exit code (SIGKILL after 10 s).
 */
export function start(argv, { cwd, env, log, lines }) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child);
  let buffer = "";
  let all = "";
  child.stdout.resume();
  child.stderr.on("data", (c) => {
    const text = c.toString("utf8");
    all += text;
    buffer += text;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      lines(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve(code ?? signal)));
  return {
    child,
    exited,
    async stop() {
      killGroup(child, "SIGINT");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      running.delete(child);
      if (log) {
        try {
          appendFileSync(log, `\n$ ${shellQuote(argv)}${cwd ? `   (in ${cwd})` : ""}   [long-running, stopped with SIGINT]\n# exit ${code}\n${all}`);
        } catch {
          // logging is best effort
        }
      }
      return code;
    },
  };
}
