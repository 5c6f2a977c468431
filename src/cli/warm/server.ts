import { createConnection, createServer, type Server, type Socket } from "node:net";
import { renameSync, rmSync, statSync } from "node:fs";
import { KEY_VARIABLE, SERVE_VARIABLE, servedWarm } from "./names.js";
import { logOf } from "./place.js";
import { MAX_REQUEST_BYTES, onLines, parseRequest, send, type Request, type StreamInfo } from "./protocol.js";

/**
 * A warm process: the CLI, started by a client (client.ts) with its environment and folder, kept
 * running to do the next one-shot `flowpack package` of that client's shape as a `--watch` session
 * does its rebuilds: Node started, the command loaded, esbuild running, the project's vendored
 * packages loaded (only the flow's own module is loaded again). One build at a time: a client that
 * finds it busy does its work itself. Each build runs the CLI's own `main` with the client's
 * arguments, its output sent to the client as it is written, its exit code last.
 *
 * It exits when it has been idle for FLOWPACK_WARM_IDLE seconds (default 600), when asked to
 * (`flowpack warm stop`), after MAX_BUILDS builds or when it holds more than MAX_RSS bytes (each
 * build's flow module stays loaded), and with the default action of a signal: a client forwards its
 * Ctrl-C here, so a stopped build stops as it would in the client's own process.
 *
 * Its stderr outside builds is its log (`<name>.log` beside the socket; see startWarm): why it could
 * not start, or the error it died of. A process that exits by itself removes it.
 */

export interface WarmContext {
  /** Set in a warm process: commands keep what can be reused across builds (see registerPackage). */
  warm: true;
  /** Called once before the process exits. */
  onExit(close: () => Promise<void>): void;
  /** This build left the process not clean for another (a flow's module ran in its main thread): it exits once the build is answered. */
  retire(): void;
}

export type RunCli = (argv: string[], context: WarmContext) => Promise<number>;

const DEFAULT_IDLE_SECONDS = 600;
const MAX_BUILDS = 200;
const MAX_RSS = 1.5 * 1024 ** 3;
const OWN_SOCKET_CHECK_MS = 30_000;

export async function serveWarm(run: RunCli, warmUp: () => Promise<void>): Promise<void> {
  const socketPath = process.env[SERVE_VARIABLE]!;
  const key = process.env[KEY_VARIABLE] ?? "";
  // The flows this process loads see the client's environment, not these two.
  delete process.env[SERVE_VARIABLE];
  delete process.env[KEY_VARIABLE];
  const idleMs = idleSeconds(process.env.FLOWPACK_WARM_IDLE) * 1000;
  // What each build must start from (a build that changes them retires this process).
  const home = process.cwd();
  const environment = { ...process.env };

  const closers: (() => Promise<void>)[] = [];
  let retired = false;
  const context: WarmContext = { warm: true, onExit: (close) => void closers.push(close), retire: () => void (retired = true) };
  const startedAt = Date.now();
  let lastUsedAt = startedAt;
  let builds = 0;
  let busy = false;
  let stopAfterBuild = false;
  let idle: NodeJS.Timeout | undefined;
  // Set once listening: the server, and the inode of the socket it made.
  const listening: { server?: Server; socketInode?: number } = {};

  let closing = false;
  const exit = async (): Promise<never> => {
    closing = true;
    listening.server?.close();
    if (ours()) rmSync(logOf(socketPath), { force: true });
    removeSocket();
    for (const close of closers) await close().catch(() => undefined);
    process.exit(0);
  };
  // Whether the socket at the path is the one this process made (not one another process has listened on since).
  const ours = () => {
    try {
      return listening.socketInode !== undefined && statSync(socketPath).ino === listening.socketInode;
    } catch {
      return false; // gone
    }
  };
  const removeSocket = () => {
    if (ours()) rmSync(socketPath, { force: true });
  };
  process.on("exit", removeSocket);
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => void exit(), idleMs);
  };

  const build = async (socket: Socket, request: Extract<Request, { kind: "build" }>) => {
    // A client gone mid-build (killed, its terminal closed) takes its build with it, as it would
    // have in its own process: nothing is pushed or written after it.
    let answered = false;
    socket.once("close", () => {
      if (!answered) process.exit(1); // at once (the socket goes with the exit hook; temporary folders with theirs)
    });
    const restore = [redirect(process.stdout, socket, 1, request.stdout), redirect(process.stderr, socket, 2, request.stderr)];
    let code: number;
    try {
      code = await run(request.argv, context);
    } catch (error) {
      // main() reports what commands throw; this is flowpack failing around it.
      process.stderr.write(`flowpack: internal error: ${error instanceof Error ? error.message : String(error)}\n  hint: FLOWPACK_WARM=0 builds in the client's own process; please report it\n`);
      code = 3;
    } finally {
      for (const undo of restore) undo();
      builds++;
      lastUsedAt = Date.now();
    }
    // Each build must start from the folder and environment this process was made for: a build
    // that changed them (or asked to retire, or a process grown too big) is its last, and no other
    // is taken from here on.
    const last = retired || stopAfterBuild || changed(home, environment) || builds >= MAX_BUILDS || process.memoryUsage().rss > MAX_RSS;
    if (last) closing = true;
    busy = false;
    answered = true;
    send(socket, { kind: "exit", code });
    socket.end();
    if (last) {
      await new Promise((done) => socket.once("close", done));
      await exit();
    }
    armIdle();
  };

  const serve = (socket: Socket) => {
    socket.on("error", () => undefined); // a client gone mid-build: its output goes nowhere
    // A build is taken in two steps: "accepted" (this process is held for the client), then the
    // client's "go". A client that gave up waiting meanwhile never says it, and nothing is built.
    let state: "new" | "held" | "done" = "new";
    let held: Extract<Request, { kind: "build" }> | undefined;
    // Held, and the client went (or said something else): the process is free again.
    const release = () => {
      state = "done";
      busy = false;
      if (stopAfterBuild) void exit();
      else armIdle();
    };
    socket.once("close", () => {
      if (state === "held") release();
    });
    onLines(
      socket,
      (line) => {
        if (state === "held") {
          if (parseRequest(line)?.kind !== "go") {
            release();
            return socket.destroy();
          }
          state = "done";
          return void build(socket, held!);
        }
        if (state !== "new") return;
        state = "done";
        const request = parseRequest(line);
        if (!request || request.kind === "go") return socket.destroy();
        if (request.kind === "status") {
          send(socket, { kind: "status", pid: process.pid, cwd: process.cwd(), builds, startedAt, lastUsedAt, busy });
          return socket.end();
        }
        if (request.kind === "stop") {
          send(socket, { kind: "stopping" });
          socket.end();
          // A build under way finishes first (its client is waiting for it).
          if (busy) stopAfterBuild = true;
          else void exit();
          return;
        }
        // Only the build requests of its own shape (see place.ts), and only a one-shot package.
        if (request.key !== key || !servedWarm(request.argv)) {
          send(socket, { kind: "refused" });
          return socket.end();
        }
        if (busy || closing) {
          send(socket, { kind: "busy" });
          return socket.end();
        }
        busy = true;
        clearTimeout(idle);
        state = "held";
        held = request;
        send(socket, { kind: "accepted", pid: process.pid });
      },
      MAX_REQUEST_BYTES,
    );
  };

  await warmUp();
  listening.server = await listen(socketPath, serve);
  if (!listening.server) process.exit(0); // another warm process serves this place already (or this one cannot listen: said in its log)
  listening.socketInode = statSync(socketPath).ino;
  armIdle();
  // A process whose socket was replaced (two started at once; the folder wiped) is unreachable: it goes.
  setInterval(() => {
    if (!ours() && !busy) void exit();
  }, OWN_SOCKET_CHECK_MS).unref();
}

/**
 * Listens on `path`: on a temporary name first, then renamed over it (replacing a socket left by a
 * killed process at once, with no moment where the path is missing); undefined when another process
 * answers there already.
 */
async function listen(path: string, serve: (socket: Socket) => void): Promise<Server | undefined> {
  if (await answers(path)) return undefined;
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  const server = createServer(serve);
  const error = await new Promise<Error | undefined>((done) => {
    server.once("error", done);
    server.listen(temporary, () => done(undefined));
  });
  if (error) return cannotListen(path, error);
  try {
    renameSync(temporary, path);
  } catch (error) {
    server.close();
    rmSync(temporary, { force: true });
    return cannotListen(path, error as Error);
  }
  return server;
}

/** Says why in the log (its stderr), for `flowpack warm status`. */
function cannotListen(path: string, error: Error): undefined {
  process.stderr.write(`flowpack: the warm process could not listen on ${path}: ${error.message}\n`);
  return undefined;
}

function answers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection(path, () => {
      socket.destroy();
      done(true);
    });
    socket.on("error", () => done(false));
  });
}

/** Sends what is written to `stream` to the client as `fd`, which it looks like (a terminal or not, its width), until undone. */
function redirect(stream: NodeJS.WriteStream, socket: Socket, fd: 1 | 2, info: StreamInfo): () => void {
  const write = stream.write;
  const had = { isTTY: Object.getOwnPropertyDescriptor(stream, "isTTY"), columns: Object.getOwnPropertyDescriptor(stream, "columns") };
  stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" ? encoding : "utf8");
    send(socket, { kind: "out", fd, text });
    const done = typeof encoding === "function" ? encoding : callback;
    if (done) process.nextTick(done);
    return true;
  }) as typeof stream.write;
  Object.defineProperty(stream, "isTTY", { value: info.tty, configurable: true, writable: true });
  Object.defineProperty(stream, "columns", { value: info.columns, configurable: true, writable: true });
  return () => {
    stream.write = write;
    for (const [name, descriptor] of Object.entries(had)) {
      if (descriptor) Object.defineProperty(stream, name, descriptor);
      else delete (stream as unknown as Record<string, unknown>)[name];
    }
  };
}

/** Whether the folder or the environment are not what this process started with. */
function changed(home: string, environment: NodeJS.ProcessEnv): boolean {
  let cwd: string | undefined;
  try {
    cwd = process.cwd();
  } catch {
    return true; // the folder is gone
  }
  if (cwd !== home) return true;
  const names = Object.keys(process.env);
  return names.length !== Object.keys(environment).length || names.some((name) => process.env[name] !== environment[name]);
}

function idleSeconds(value: string | undefined): number {
  const seconds = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_IDLE_SECONDS;
}
