import { spawn } from "node:child_process";
import { createConnection } from "node:net";
import { closeSync, constants, lstatSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { KEY_VARIABLE, SERVE_VARIABLE } from "./names.js";
import { logOf, socketOf, warmDir, type WarmPlace } from "./place.js";
import { onLines, parseAnswer, send, type Answer } from "./protocol.js";

/**
 * The client side of warm processes (server.ts), used by the CLI's entry when the command is a
 * one-shot `package` and warm processes are wanted (names.ts warmChoice): hand the work to the warm
 * process of this place and relay what it writes, or say that the work must be done here (no warm
 * process, a busy or a gone one).
 */

/** How long a warm process may take to take a build on (or say it is busy). */
const FIRST_ANSWER_MS = 2000;

export type Handed =
  | { done: true; code: number }
  /** Stopped by Ctrl-C (passed on to the warm process): the caller ends as that signal would end it. */
  | { done: true; code: number; signal: NodeJS.Signals }
  | { done: false; reason: "none" | "busy" | "lost" };

/**
 * Sends `argv` to the warm process at `place`. A warm process that dies mid-build without being asked
 * to (a flow's module that crashes flowpack's own thread, say) is "lost": the build is done here
 * again, from the start (a package is the same whoever makes it), and no new warm process is started
 * for it — unless it had already written to stdout (the manifest comes last: it had nearly finished),
 * which is reported as an internal error rather than written twice. Ctrl-C (SIGINT, SIGTERM) is
 * passed on to it.
 */
export function handToWarm(place: WarmPlace, argv: string[]): Promise<Handed> {
  return new Promise((resolve) => {
    const socket = createConnection(place.socket);
    let pid: number | undefined;
    let stoppedBy: NodeJS.Signals | undefined;
    let result: Handed | undefined;
    let wroteStdout = false;
    // An idle warm process answers at once; one whose thread is held by a build (a flow's module
    // evaluating) answers "busy" once it is free. Past FIRST_ANSWER_MS, build here instead.
    const waiting = setTimeout(() => {
      result = { done: false, reason: "busy" };
      socket.destroy();
    }, FIRST_ANSWER_MS);
    const forward = (signal: NodeJS.Signals) => {
      // The build has ended: the warm process may be another client's by now; this one ends as told.
      if (result?.done) return process.exit(result.code);
      stoppedBy ??= signal;
      if (pid === undefined) return socket.destroy(); // not started there: stop here
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    };
    const onInt = () => forward("SIGINT");
    const onTerm = () => forward("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    const finish = (handed: Handed) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(handed);
    };
    socket.on("connect", () =>
      send(socket, {
        kind: "build",
        key: place.key,
        argv,
        stdout: { tty: Boolean(process.stdout.isTTY), ...(process.stdout.columns ? { columns: process.stdout.columns } : {}) },
        stderr: { tty: Boolean(process.stderr.isTTY), ...(process.stderr.columns ? { columns: process.stderr.columns } : {}) },
      }),
    );
    onLines(socket, (line) => {
      const answer = parseAnswer(line);
      clearTimeout(waiting);
      if (!answer) return socket.destroy();
      if (answer.kind === "accepted") {
        pid = answer.pid;
        send(socket, { kind: "go" });
      } else if (answer.kind === "out") {
        if (answer.fd === 1) wroteStdout = true;
        (answer.fd === 1 ? process.stdout : process.stderr).write(answer.text);
      } else if (answer.kind === "exit") result = { done: true, code: answer.code };
      else if (answer.kind === "busy" || answer.kind === "refused") result = { done: false, reason: "busy" };
    });
    // Nobody listening (none started yet, or one that was killed: the next one started replaces its socket).
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(waiting);
      if (result) return finish(result);
      if (stoppedBy) return finish({ done: true, code: stoppedBy === "SIGTERM" ? 143 : 130, signal: stoppedBy });
      if (pid !== undefined && wroteStdout) {
        process.stderr.write("flowpack: internal error: the warm process that was building this ended before saying how the build ended (its output is above)\n  hint: run it again; FLOWPACK_WARM=0 builds in this process\n");
        return finish({ done: true, code: 3 });
      }
      finish({ done: false, reason: pid === undefined ? "none" : "lost" });
    });
  });
}

/**
 * After a warm process of a place failed (its log is not empty: it could not start, or died), the
 * next one is started no sooner than this: each invocation would otherwise start one that fails.
 */
const RESTART_AFTER_FAILURE_MS = 60_000;

/**
 * At most this many warm processes answer for one user (cache folder) at a time: there is one per
 * folder and environment, and terminals, projects and branches add up. Starting another stops the
 * one unused longest.
 */
const MAX_WARM = 4;

/**
 * Starts a warm process for `place` in the background (detached, no terminal, its stderr in
 * `place.log`), for the next invocation of the same shape: the environment the place was worked out
 * from, its folder (the one this process started in, whatever a flow's module did since), and
 * `entry` (the CLI). Not within RESTART_AFTER_FAILURE_MS of the last one's failure. With MAX_WARM
 * answering already, the idle one unused longest is stopped first (none idle: none started). Whether
 * one was started (spawned: whether it comes up, its log tells).
 */
export async function startWarm(place: WarmPlace, entry: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (failedAgo(place.log) < RESTART_AFTER_FAILURE_MS) return false;
  let log: number | undefined;
  try {
    if (!(await makeRoom(place.dir))) return false;
    // Appending: a process that still writes to the file it had (one warming up as this one
    // started) writes at its end, not at its old offset past the truncation.
    log = openSync(place.log, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
    const child = spawn(process.execPath, [...process.execArgv, entry], {
      cwd: place.cwd,
      env: { ...env, [SERVE_VARIABLE]: place.socket, [KEY_VARIABLE]: place.key },
      detached: true,
      stdio: ["ignore", "ignore", log],
    });
    child.on("error", () => undefined);
    child.unref();
    return child.pid !== undefined;
  } catch {
    // the next invocation starts one
    return false;
  } finally {
    if (log !== undefined) closeSync(log);
  }
}

/**
 * Whether another warm process may start in `dir` (MAX_WARM), after stopping the idle one unused
 * longest if need be. Sockets nobody listens on (their process was killed) are removed on the way,
 * not their logs (a failure's record). A soft limit: two clients may make room at once, and a
 * process still starting has no socket of its name yet.
 */
async function makeRoom(dir: string): Promise<boolean> {
  const sockets = socketsIn(dir);
  if (sockets.length < MAX_WARM) return true; // the common case: no process is asked anything
  const answers = await Promise.all(sockets.map(async (socket) => ({ socket, answer: await ask(socket, "status", { removeRefused: true }) })));
  const answering = answers.filter((a): a is { socket: string; answer: Extract<Answer, { kind: "status" }> } => a.answer?.kind === "status");
  if (answering.length < MAX_WARM) return true;
  const [oldest] = answering.filter(({ answer }) => !answer.busy).sort((a, b) => a.answer.lastUsedAt - b.answer.lastUsedAt);
  if (!oldest) return false;
  return (await ask(oldest.socket, "stop"))?.kind === "stopping";
}

/**
 * How long ago the warm process logging to `log` last wrote there; Infinity when it wrote nothing.
 * Asked only of a process that is gone: anything it wrote outside a build (why it could not start,
 * what it died of, a warning) counts as a failure.
 */
function failedAgo(log: string): number {
  try {
    const info = statSync(log);
    return info.isFile() && info.size > 0 ? Date.now() - info.mtimeMs : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Logs of warm processes of this user that failed (written, and nobody answers at their socket): the newest first. */
export async function failedWarm(env: NodeJS.ProcessEnv): Promise<{ log: string; ago: number }[]> {
  const dir = warmDir(env);
  if (!dir) return [];
  const logs = readdirSync(dir)
    .filter((name) => name.endsWith(".log"))
    .map((name) => ({ log: join(dir, name), ago: failedAgo(join(dir, name)) }))
    .filter(({ ago }) => ago !== Number.POSITIVE_INFINITY);
  const answering = await Promise.all(logs.map(({ log }) => ask(socketOf(log), "status")));
  return logs.filter((_, i) => answering[i] === undefined).sort((a, b) => a.ago - b.ago);
}

/** Asks every warm process of this user (in `<cache>/warm`) for `kind`; the answers of those that answered. */
export async function askAllWarm<K extends "status" | "stop">(env: NodeJS.ProcessEnv, kind: K): Promise<Extract<Answer, { kind: K extends "status" ? "status" : "stopping" }>[]> {
  const dir = warmDir(env);
  if (!dir) return [];
  const answers = await Promise.all(socketsIn(dir).map((socket) => ask(socket, kind)));
  return answers.filter((answer) => answer !== undefined) as never;
}

/** The sockets of warm processes in `dir` (answering or not). */
function socketsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sock"))
    .map((name) => join(dir, name));
}

/**
 * Asks the warm process at `path` for `kind`; undefined when nobody answers. A socket nobody listens
 * on is removed by `stop` with its log, and with `removeRefused` alone.
 */
function ask(path: string, kind: "status" | "stop", { removeRefused = false } = {}): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(path, () => send(socket, kind === "status" ? { kind: "status" } : { kind: "stop" }));
    let answer: Answer | undefined;
    const timer = setTimeout(() => socket.destroy(), FIRST_ANSWER_MS); // a busy one answers at once too; a stuck one is skipped
    onLines(socket, (line) => {
      answer = parseAnswer(line);
      socket.end();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A socket nobody listens on (its process was killed): `warm stop` removes it with its log.
      if (error.code !== "ECONNREFUSED" || !isSocket(path)) return;
      if (kind === "stop") for (const file of [path, logOf(path)]) rmSync(file, { force: true });
      else if (removeRefused) rmSync(path, { force: true });
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}
