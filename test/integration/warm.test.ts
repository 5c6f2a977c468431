import { spawn } from "node:child_process";
import { createConnection, createServer, type Socket } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowpack, type CliResult } from "../helpers/cli.js";
import { repoRoot } from "../helpers/paths.js";
import { services } from "../helpers/services.js";
import { alive } from "../helpers/processes.js";
import { CI_VARIABLES } from "../../src/_internal/ci.js";

// FLOWPACK_WARM=1: a one-shot `package` leaves a warm process behind, and the next one of the same
// shape (folder, environment, flowpack) is built there. Which process built is told by the flow's
// module, which records its pid (and what it saw) each time it loads.
const work = mkdtempSync(join(tmpdir(), "flowpack-warm-"));
const cache = join(work, "cache");
const project = join(work, "project");
const layout = join(work, "layout");
const env = { FLOWPACK_CACHE_DIR: cache, FLOWPACK_WARM: "1", FLOWPACK_WARM_IDLE: "120", WARM_TEST_VALUE: "" };

mkdirSync(join(project, "node_modules", "name-pkg"), { recursive: true });
writeFileSync(join(project, "package.json"), JSON.stringify({ name: "warm-project", version: "1.0.0", type: "module" }));
writeFileSync(join(project, "node_modules", "name-pkg", "package.json"), JSON.stringify({ name: "name-pkg", version: "1.0.0", type: "module", exports: "./index.js" }));
writeFileSync(join(project, "node_modules", "name-pkg", "index.js"), 'export const NAME = "warm-flow";\n');

interface Seen {
  pid: number;
  threadId: number;
  isMainThread: boolean;
  value: string | null;
  /** The warm process's own variables, which a flow must not see. */
  socket: string | null;
  key: string | null;
}

/** Writes the flow (its result `variant`; `atLoad` run at its top level). */
function writeFlow(variant: string, atLoad = ""): void {
  writeFileSync(
    join(project, "flow.ts"),
    `import { flow } from "flowpack";
import { NAME } from "name-pkg";
import { writeFileSync } from "node:fs";
import { isMainThread, threadId } from "node:worker_threads";
writeFileSync(${JSON.stringify(join(work, "seen.json"))}, JSON.stringify({ pid: process.pid, threadId, isMainThread, value: process.env.WARM_TEST_VALUE ?? null, socket: process.env.FLOWPACK_WARM_SOCKET ?? null, key: process.env.FLOWPACK_WARM_KEY ?? null }));
${atLoad}
export const f = flow({ name: NAME }, async () => ${JSON.stringify(variant)});
`,
  );
}

const seen = () => JSON.parse(readFileSync(join(work, "seen.json"), "utf8")) as Seen;
const packageArgs = (...more: string[]) => ["package", "flow.ts", "--packager", "docker", "--builder", "oci", "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`, "--oci-layout", layout, ...more];
const pack = (more: string[] = [], extraEnv: Record<string, string> = {}): Promise<CliResult> => flowpack(packageArgs(...more), { env: { ...env, ...extraEnv }, cwd: project, timeoutMs: 60_000 });

interface Status {
  pid: number;
  builds: number;
  busy: boolean;
  cwd: string;
}
const status = async (): Promise<Status[]> => {
  const r = await flowpack(["--json", "warm", "status"], { env: { FLOWPACK_CACHE_DIR: cache } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Status[];
};
/** Waits (bounded) until `count` warm processes answer, and returns them. */
const warmProcesses = async (count: number): Promise<Status[]> => {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = await status();
    if (found.length === count) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`expected ${count} warm processes, found ${(await status()).length}`);
};
const stopAll = () => flowpack(["warm", "stop"], { env: { FLOWPACK_CACHE_DIR: cache } });
/** Whether `pid` has ended within a few seconds (a zombie, not reaped yet by whoever adopted it, has ended). */
const gone = async (pid: number): Promise<boolean> => {
  for (let attempt = 0; attempt < 250 && alive(pid); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
  return !alive(pid);
};
/** Waits (bounded) until the flow's module has begun loading (it writes seen.json first). */
const loading = async (): Promise<void> => {
  for (let attempt = 0; attempt < 300 && !existsSync(join(work, "seen.json")); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(existsSync(join(work, "seen.json"))).toBe(true);
};

/**
 * Starts a client in the background with a flow whose module waits `waitMs` while loading, and
 * returns once that module has begun loading (its exit: code and signal, when it comes).
 */
const startSlowClient = async (waitMs: number, ...more: string[]) => {
  writeFlow("slow", `await new Promise((resolve) => setTimeout(resolve, ${waitMs}));`);
  rmSync(join(work, "seen.json"), { force: true });
  const client = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), ...packageArgs("-q", ...more)], { cwd: project, env: { ...process.env, ...env }, stdio: "ignore" });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => client.on("exit", (code, signal) => resolve({ code, signal })));
  await loading();
  return { client, exited };
};

afterAll(async () => {
  await stopAll();
});

describe("FLOWPACK_WARM=1: one-shot package in a warm process", () => {
  it("the first package leaves a warm process; the next is built there, with the same image a cold build makes, its output relayed", async () => {
    writeFlow("one");
    const first = await pack(["-q"]);
    expect(first.code, first.stderr).toBe(0);
    const [warm] = await warmProcesses(1);
    expect(warm).toMatchObject({ builds: 0, busy: false, cwd: project });
    expect(seen().pid).not.toBe(warm!.pid); // the first was built in its own process

    writeFlow("two");
    const second = await pack(); // manifest on stdout, progress on stderr: both relayed
    expect(second.code, second.stderr).toBe(0);
    expect(seen()).toMatchObject({ pid: warm!.pid, isMainThread: false, value: "", socket: null, key: null }); // the warm process's own variables are not the flow's
    expect(second.stderr).toContain("bundle: bundling the flow");
    const warmManifest = JSON.parse(second.stdout) as { flowName: string; image: string };
    expect(warmManifest.flowName).toBe("warm-flow");
    expect((await status())[0]).toMatchObject({ pid: warm!.pid, builds: 1 });

    // The same code without FLOWPACK_WARM: built here, the same image.
    const cold = await flowpack(packageArgs("-q"), { env: { ...env, FLOWPACK_WARM: "" }, cwd: project, timeoutMs: 60_000 });
    expect(cold.code, cold.stderr).toBe(0);
    expect(seen().pid).not.toBe(warm!.pid);
    expect((JSON.parse(cold.stdout) as { image: string }).image).toBe(warmManifest.image);
  });

  it("another environment is another warm process: a flow always sees the environment it was packaged with", async () => {
    await stopAll();
    writeFlow("three");
    expect((await pack(["-q"], { WARM_TEST_VALUE: "a" })).code).toBe(0);
    const [forA] = await warmProcesses(1);
    expect((await pack(["-q"], { WARM_TEST_VALUE: "b" })).code).toBe(0); // not the one for "a"
    expect(seen()).toMatchObject({ value: "b" });
    expect(seen().pid).not.toBe(forA!.pid);
    await warmProcesses(2);
    const r = await pack(["-q"], { WARM_TEST_VALUE: "a" });
    expect(r.code, r.stderr).toBe(0);
    expect(seen()).toMatchObject({ pid: forA!.pid, value: "a", socket: null, key: null });
  });

  it("at most 4 answer at a time: a fifth stops the one unused longest", async () => {
    await stopAll();
    writeFlow("five at most");
    const pids: number[] = [];
    for (const value of ["w1", "w2", "w3", "w4"]) {
      expect((await pack(["-q"], { WARM_TEST_VALUE: value })).code).toBe(0);
      pids.push((await warmProcesses(pids.length + 1)).map((p) => p.pid).find((pid) => !pids.includes(pid))!);
    }
    // w1 used again: w2 is now the one unused longest
    expect((await pack(["-q"], { WARM_TEST_VALUE: "w1" })).code).toBe(0);
    expect(seen().pid).toBe(pids[0]);
    expect((await pack(["-q"], { WARM_TEST_VALUE: "w5" })).code).toBe(0);
    expect(await gone(pids[1]!)).toBe(true);
    const left = (await warmProcesses(4)).map((p) => p.pid);
    expect(left).toEqual(expect.arrayContaining([pids[0], pids[2], pids[3]]));
    expect(left).not.toContain(pids[1]);
    await stopAll();
  });

  it("sockets of killed warm processes do not count toward the 4, and are removed when a client counts them", async () => {
    await stopAll();
    // Four sockets nobody listens on: bound, then their process gone without removing them.
    const stale = ["a", "b", "c", "d"].map((name) => join(cache, "warm", `${name.repeat(32)}.sock`));
    const bound = spawn("python3", ["-c", "import socket, sys\nfor p in sys.argv[1:]:\n  s = socket.socket(socket.AF_UNIX); s.bind(p); s.close()", ...stale]);
    await new Promise((resolve) => bound.on("close", resolve));
    expect(stale.every((path) => existsSync(path))).toBe(true);
    writeFlow("stale sockets");
    expect((await pack(["-q"])).code).toBe(0);
    await warmProcesses(1);
    expect(stale.filter((path) => existsSync(path))).toEqual([]);
    await stopAll();
  });

  it("the flow loads in a thread kept for the next build; --env placeholders do not carry over to it", async () => {
    await stopAll();
    writeFlow("four");
    expect((await pack(["-q"])).code).toBe(0);
    const [warm] = await warmProcesses(1);
    const placed = await pack(["-q", "--env", "WARM_TEST_VALUE=placeholder"]);
    expect(placed.code, placed.stderr).toBe(0);
    const first = seen();
    expect(first).toMatchObject({ pid: warm!.pid, isMainThread: false, value: "placeholder" });
    writeFlow("five");
    expect((await pack(["-q"])).code).toBe(0);
    expect(seen()).toMatchObject({ pid: warm!.pid, threadId: first.threadId, value: "" }); // the same thread, the placeholder gone
  });

  /**
   * Builds a flow whose module runs `atLoad` in the warm process (its result checked by `check`),
   * then a plain one: built by the same warm process, in another thread than the first.
   */
  const freshThreadAfter = async (atLoad: string, check: (r: CliResult) => void) => {
    const [warm] = await warmProcesses(1);
    writeFlow("first", atLoad);
    check(await pack(["-q"]));
    const first = seen();
    expect(first.pid).toBe(warm!.pid);
    writeFlow("next");
    const next = await pack(["-q"]);
    expect(next.code, next.stderr).toBe(0);
    expect(seen().pid).toBe(warm!.pid);
    expect(seen().threadId).not.toBe(first.threadId);
  };
  const succeeds = (r: CliResult) => expect(r.code, r.stderr).toBe(0);

  it("a flow that leaves a timer running in its thread gets a fresh thread next time; the warm process stays", () =>
    freshThreadAfter("setInterval(() => undefined, 60_000);", succeeds));

  it("a flow that keeps work going on after it loaded (an immediate that schedules itself) gets a fresh thread next time", () =>
    freshThreadAfter("const spin = () => setImmediate(spin); spin();", succeeds));

  it("a flow that failed to load gets a fresh thread for the next build (its packages may be half set up)", () =>
    freshThreadAfter('throw new Error("not configured");', (r) => {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not configured");
    }));

  it("a flow that must be read in the main thread (process.chdir) is built, and the warm process retires after it", async () => {
    const [warm] = await warmProcesses(1);
    writeFlow("chdir", "process.chdir(process.cwd());");
    const r = await pack(["-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(seen()).toMatchObject({ pid: warm!.pid, isMainThread: true });
    expect(await gone(warm!.pid)).toBe(true);
    expect(await status()).toEqual([]);
  });

  it("only requests of its own shape are built: another key is refused", async () => {
    writeFlow("seven");
    expect((await pack(["-q"])).code).toBe(0);
    await warmProcesses(1);
    const [socketName] = readdirSync(join(cache, "warm")).filter((name) => name.endsWith(".sock"));
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(join(cache, "warm", socketName!), () => {
        socket.write(`${JSON.stringify({ kind: "build", key: "not-its-key", argv: ["package", "flow.ts"], stdout: { tty: false }, stderr: { tty: false } })}\n`);
      });
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(JSON.parse(answer)).toEqual({ kind: "refused" });
    expect((await status())[0]).toMatchObject({ builds: 0 });
  });

  it("errors come back as a build here reports them: exit code and message", async () => {
    const [warm] = await warmProcesses(1);
    const before = warm!.builds;
    writeFlow("broken", "export const = ;");
    const r = await pack(["-q"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flowpack: error: cannot bundle flow.ts");
    expect((await status())[0]).toMatchObject({ pid: warm!.pid, builds: before + 1 });
  });

  it("a flow that calls process.exit() while loading: the same error as a build in its own process; the warm process stays", async () => {
    const [warm] = await warmProcesses(1);
    writeFlow("exits", "process.exit(7);");
    const r = await pack(["-q"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flowpack: error: flow.ts stopped flowpack's loading thread while loading (exit code 7)");
    writeFlow("after-exit");
    const next = await pack(["-q"]);
    expect(next.code, next.stderr).toBe(0);
    expect(seen().pid).toBe(warm!.pid); // in a new thread of the same process
  });

  it("a warm process that was killed is replaced: the build is done here, a new one starts and takes over its socket", async () => {
    writeFlow("six");
    expect((await pack(["-q"])).code).toBe(0);
    const [warm] = await warmProcesses(1);
    process.kill(warm!.pid, "SIGKILL");
    expect(await gone(warm!.pid)).toBe(true);
    expect(readdirSync(join(cache, "warm")).filter((name) => name.endsWith(".sock"))).toHaveLength(1); // left behind
    writeFlow("seven");
    const r = await pack(["-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(seen().pid).not.toBe(warm!.pid);
    const [next] = await warmProcesses(1);
    expect(next!.pid).not.toBe(warm!.pid);
  });

  it("Ctrl-C in the client stops the build in the warm process: the client ends by SIGINT, nothing left running", async () => {
    const [warm] = await warmProcesses(1);
    const { client, exited } = await startSlowClient(60_000);
    expect(seen().pid).toBe(warm!.pid);
    expect((await status())[0]).toMatchObject({ pid: warm!.pid, busy: true });
    client.kill("SIGINT");
    expect(await exited).toEqual({ code: null, signal: "SIGINT" }); // as a build in its own process ends: a shell loop stops
    expect(await gone(warm!.pid)).toBe(true);
    expect(await status()).toEqual([]);
  });

  it("a busy warm process: the next client builds in its own process", async () => {
    writeFlow("ten");
    expect((await pack(["-q"])).code).toBe(0);
    const [warm] = await warmProcesses(1);
    const first = await startSlowClient(2_000);
    const second = await pack(["-q"]);
    expect(second.code, second.stderr).toBe(0);
    expect(seen().pid).not.toBe(warm!.pid);
    expect((await first.exited).code).toBe(0);
    expect((await status())[0]).toMatchObject({ pid: warm!.pid, builds: 1 }); // the first client's build only
  });

  it("a client killed mid-build takes its build with it: nothing is written after it", async () => {
    writeFlow("nine");
    expect((await pack(["-q"])).code).toBe(0);
    const [warm] = await warmProcesses(1);
    const manifest = join(work, "never.json");
    const { client } = await startSlowClient(3_000, "-o", manifest);
    expect(seen().pid).toBe(warm!.pid);
    client.kill("SIGKILL");
    expect(await gone(warm!.pid)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 3_500)); // past the flow's wait
    expect(existsSync(manifest)).toBe(false);
  });

  it("flowpack warm stop stops every warm process and removes its socket", async () => {
    writeFlow("eight");
    expect((await pack(["-q"])).code).toBe(0);
    const [warm] = await warmProcesses(1);
    const r = await stopAll();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("stopped 1 warm process");
    expect(await gone(warm!.pid)).toBe(true);
    expect(existsSync(join(cache, "warm")) && readdirSync(join(cache, "warm")).filter((name) => name.endsWith(".sock"))).toEqual([]);
  });
});

describe("FLOWPACK_WARM=1: a warm process that fails, falls silent or dies mid-build", () => {
  /** The socket path of this test's shape of invocation (folder, environment): where its warm process listens. */
  let socketPath: string;
  const logPath = () => socketPath.replace(/\.sock$/, ".log");
  /** A stand-in at the socket path, answering each line a client sends as `answer` says (fault injection). */
  const standIn = async (answer: (line: Record<string, unknown>, socket: Socket) => void) => {
    const lines: Record<string, unknown>[] = [];
    const server = createServer((socket) => {
      socket.on("error", () => undefined);
      let pending = "";
      socket.on("data", (chunk) => {
        pending += chunk.toString();
        for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
          const line = JSON.parse(pending.slice(0, end)) as Record<string, unknown>;
          pending = pending.slice(end + 1);
          lines.push(line);
          answer(line, socket);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, resolve);
    });
    return { lines, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  };
  // A process that is not the client's: the pid a stand-in gives as the warm process's.
  const bystander = spawn("sleep", ["120"], { stdio: "ignore" });
  afterAll(() => void bystander.kill());
  /** A stand-in that takes the build, writes `text` to the client's `fd`, and goes without an exit status. */
  const diesAfterWriting = (fd: 1 | 2, text: string) =>
    standIn((line, socket) => {
      if (line.kind === "build") socket.write(`${JSON.stringify({ kind: "accepted", pid: bystander.pid })}\n`);
      if (line.kind === "go") socket.end(`${JSON.stringify({ kind: "out", fd, text })}\n`);
    });

  beforeAll(async () => {
    // the place's socket path, from the warm process a package leaves
    await stopAll();
    writeFlow("eleven");
    expect((await pack(["-q"])).code).toBe(0);
    await warmProcesses(1);
    const [socketName] = readdirSync(join(cache, "warm")).filter((name) => name.endsWith(".sock"));
    socketPath = join(cache, "warm", socketName!);
    await stopAll();
  }, 60_000);

  it("a warm process that cannot start says why in its log; warm status shows it, and none is started again for a minute", async () => {
    expect(existsSync(logPath())).toBe(false); // an exit of its own (here: warm stop) removes its log
    // a folder where its socket goes: it cannot listen there
    mkdirSync(join(socketPath, "in-the-way"), { recursive: true });
    try {
      const r = await pack(["-q"]);
      expect(r.code, r.stderr).toBe(0);
      for (let attempt = 0; attempt < 1000 && !(existsSync(logPath()) && readFileSync(logPath(), "utf8")); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      const log = readFileSync(logPath(), "utf8");
      expect(log).toContain(`flowpack: the warm process could not listen on ${socketPath}`);
      const shown = await flowpack(["warm", "status"], { env: { FLOWPACK_CACHE_DIR: cache } });
      expect(shown.stdout).toBe("no warm process\n");
      expect(shown.stderr).toMatch(new RegExp(`^flowpack: warning: a warm process failed \\d+ s ago; its log: ${logPath().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n$`));
      // the next package (well within the minute) builds here and starts no other (it would have truncated the log)
      const again = await pack(["-q"]);
      expect(again.code, again.stderr).toBe(0);
      expect(readFileSync(logPath(), "utf8")).toBe(log);
      // warm stop clears it: the next package may start one at once
      expect((await stopAll()).code).toBe(0);
      expect(existsSync(logPath())).toBe(false);
    } finally {
      rmSync(socketPath, { recursive: true, force: true });
    }
  });

  it("a warm process that does not answer within 2 s: the client builds in its own process and starts none", async () => {
    const silent = await standIn(() => undefined);
    try {
      writeFlow("twelve");
      const r = await pack(["-q"]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ type: "docker", flowName: "warm-flow" });
      expect(silent.lines).toEqual([expect.objectContaining({ kind: "build", argv: packageArgs("-q") })]);
      expect(existsSync(logPath())).toBe(false);
    } finally {
      await silent.close();
    }
  });

  it("a warm process that ends mid-build before writing the manifest: the build is done again in the client", async () => {
    const dying = await diesAfterWriting(2, "halfway there\n");
    try {
      writeFlow("thirteen");
      const r = await pack(["-q"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("halfway there\n");
      expect(JSON.parse(r.stdout)).toMatchObject({ type: "docker", flowName: "warm-flow" });
      expect(dying.lines.map((line) => line.kind)).toEqual(["build", "go"]);
      expect(existsSync(logPath())).toBe(false); // none started for a place whose process was lost
    } finally {
      await dying.close();
    }
  });

  it("a warm process that ends after writing to stdout: exit 3 and an internal error, its output never written twice", async () => {
    const dying = await diesAfterWriting(1, '{"almost": "a manifest"}\n');
    try {
      const r = await pack(["-q"]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('{"almost": "a manifest"}\n');
      expect(r.stderr).toContain("flowpack: internal error: the warm process that was building this ended before saying how the build ended");
    } finally {
      await dying.close();
    }
  });
});

describe("the default: warm processes at a terminal, outside CI", () => {
  /** `flowpack package` at a terminal (`script` gives it one), FLOWPACK_WARM and CI unset unless `extraEnv` sets them: its code and what the terminal showed. */
  const atTerminal = (more: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; shown: string }> =>
    new Promise((resolve, reject) => {
      const command = [process.execPath, join(repoRoot, "dist/cli.mjs"), ...packageArgs(...more)].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(" ");
      const notCi = Object.fromEntries(CI_VARIABLES.map((name) => [name, ""]));
      const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: project, env: { ...process.env, ...env, ...notCi, FLOWPACK_WARM: "", ...extraEnv }, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
      let shown = "";
      child.stdout.on("data", (d: Buffer) => (shown += d.toString()));
      child.stderr.on("data", (d: Buffer) => (shown += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, shown }));
    });
  const started = "flowpack: starting a warm process for the next package from this folder (ends when idle; `flowpack warm stop` ends it now, FLOWPACK_WARM=0 turns this off)";

  it("the first package at a terminal leaves a warm process and says so; the next is built there", async () => {
    await stopAll();
    writeFlow("terminal one");
    const first = await atTerminal(["-o", join(work, "terminal.json")]);
    expect(first.code, first.shown).toBe(0);
    expect(first.shown).toContain(started);
    const [warm] = await warmProcesses(1);
    expect(warm).toMatchObject({ builds: 0, cwd: project });

    writeFlow("terminal two");
    const second = await atTerminal(["-o", join(work, "terminal.json")]);
    expect(second.code, second.shown).toBe(0);
    expect(second.shown).not.toContain(started);
    expect(seen().pid).toBe(warm!.pid);
    expect((await warmProcesses(1))[0]).toMatchObject({ pid: warm!.pid, builds: 1 });
    await stopAll();
  });

  it("none in CI, with FLOWPACK_WARM=0, or without a terminal (a script, a pipe); -q keeps the notice quiet", async () => {
    await stopAll();
    writeFlow("not at a terminal");
    // A client writes its warm process's log file before it starts one: none may appear.
    const logs = () => readdirSync(join(cache, "warm")).filter((name) => name.endsWith(".log"));
    const before = new Set(logs()); // a stopped process removes its own as it exits
    const inCi = await atTerminal([], { CI: "true" });
    expect(inCi.code, inCi.shown).toBe(0);
    const inJenkins = await atTerminal([], { JENKINS_URL: "http://ci.example/" });
    expect(inJenkins.code, inJenkins.shown).toBe(0);
    const optedOut = await atTerminal([], { FLOWPACK_WARM: "0" });
    expect(optedOut.code, optedOut.shown).toBe(0);
    const piped = await flowpack(packageArgs(), { env: { ...env, FLOWPACK_WARM: "", CI: "" }, cwd: project });
    expect(piped.code, piped.stderr).toBe(0);
    for (const r of [inCi.shown, inJenkins.shown, optedOut.shown, piped.stderr]) expect(r).not.toContain("warm process");
    expect(logs().filter((name) => !before.has(name))).toEqual([]);
    expect(await status()).toEqual([]);

    const quiet = await atTerminal(["-q"]);
    expect(quiet.code, quiet.shown).toBe(0);
    expect(quiet.shown).not.toContain("warm process");
    await warmProcesses(1); // started all the same
    await stopAll();
  });

  it("another FLOWPACK_WARM value is named, and the default applies", async () => {
    const r = await flowpack(packageArgs("-q"), { env: { ...env, FLOWPACK_WARM: "sometimes", CI: "" }, cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('flowpack: warning: FLOWPACK_WARM="sometimes" is neither 1 nor 0; using the default (warm processes at a terminal, outside CI)\n');
  });
});
