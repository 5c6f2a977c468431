import type { Socket } from "node:net";

/**
 * What a client and a warm process say to each other over its socket: one JSON object per line.
 * Checked by hand, not with zod: the client runs before any command is loaded, and zod would cost
 * more of its start-up than the checks are long.
 */

export interface StreamInfo {
  tty: boolean;
  columns?: number;
}

export type Request =
  | { kind: "build"; key: string; argv: string[]; stdout: StreamInfo; stderr: StreamInfo }
  | { kind: "go" }
  | { kind: "status" }
  | { kind: "stop" };

export interface Status {
  pid: number;
  cwd: string;
  builds: number;
  startedAt: number;
  lastUsedAt: number;
  busy: boolean;
}

export type Answer =
  | { kind: "accepted"; pid: number }
  | { kind: "busy" }
  | { kind: "refused" }
  | { kind: "out"; fd: 1 | 2; text: string }
  | { kind: "exit"; code: number }
  | ({ kind: "status" } & Status)
  | { kind: "stopping" };

/** A request line longer than this is not one of flowpack's. */
export const MAX_REQUEST_BYTES = 1 << 20;

export function send(socket: Socket, message: Request | Answer): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onLine` with each whole line `socket` receives; destroys it when a line grows past `maxBytes`. */
export function onLines(socket: Socket, onLine: (line: string) => void, maxBytes = Number.POSITIVE_INFINITY): void {
  let pending = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      onLine(line);
    }
    if (pending.length > maxBytes) socket.destroy();
  });
}

function parse(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function streamInfo(value: unknown): StreamInfo | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { tty, columns } = value as Record<string, unknown>;
  if (typeof tty !== "boolean") return undefined;
  if (columns !== undefined && !(Number.isInteger(columns) && (columns as number) > 0 && (columns as number) < 10_000)) return undefined;
  return columns === undefined ? { tty } : { tty, columns: columns as number };
}

/** A client's request, or undefined for anything else. */
export function parseRequest(line: string): Request | undefined {
  const value = parse(line);
  if (!value) return undefined;
  if (value.kind === "status" || value.kind === "stop" || value.kind === "go") return { kind: value.kind };
  if (value.kind !== "build" || typeof value.key !== "string") return undefined;
  if (!Array.isArray(value.argv) || !value.argv.every((arg) => typeof arg === "string")) return undefined;
  const stdout = streamInfo(value.stdout);
  const stderr = streamInfo(value.stderr);
  if (!stdout || !stderr) return undefined;
  return { kind: "build", key: value.key, argv: value.argv as string[], stdout, stderr };
}

/** A warm process's answer, or undefined for anything else. */
export function parseAnswer(line: string): Answer | undefined {
  const value = parse(line);
  if (!value) return undefined;
  switch (value.kind) {
    case "accepted":
      return Number.isInteger(value.pid) && (value.pid as number) > 0 ? { kind: "accepted", pid: value.pid as number } : undefined;
    case "busy":
    case "refused":
    case "stopping":
      return { kind: value.kind };
    case "out":
      return (value.fd === 1 || value.fd === 2) && typeof value.text === "string" ? { kind: "out", fd: value.fd, text: value.text } : undefined;
    case "exit":
      return Number.isInteger(value.code) && (value.code as number) >= 0 && (value.code as number) < 256 ? { kind: "exit", code: value.code as number } : undefined;
    case "status": {
      const { pid, cwd, builds, startedAt, lastUsedAt, busy } = value;
      if (!Number.isInteger(pid) || typeof cwd !== "string" || !Number.isInteger(builds) || typeof startedAt !== "number" || typeof lastUsedAt !== "number" || typeof busy !== "boolean") return undefined;
      return { kind: "status", pid: pid as number, cwd, builds: builds as number, startedAt, lastUsedAt, busy };
    }
    default:
      return undefined;
  }
}
