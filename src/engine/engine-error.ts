import { STATUS_CODES } from "node:http";
import { $ZodError } from "zod/v4/core";
import { DaemonUnreachableError } from "../errors.js";

/** The one line for a daemon that cannot be reached, whichever client tried (`reason`: why, in a few words). */
export function daemonUnreachable(address: string, reason: string): DaemonUnreachableError {
  return new DaemonUnreachableError(`cannot reach the Docker daemon at ${address}: ${reason}`, {
    hint: "start Docker, or set DOCKER_HOST to a running daemon (e.g. DOCKER_HOST=unix:///run/docker.sock); --builder oci needs no daemon",
  });
}

/** An answer the engine gave with a status ≥ 400: its own message kept (Docker: `message`; Podman: `message`/`cause`). */
export class EngineStatusError extends Error {
  constructor(
    readonly status: number,
    readonly engineMessage: string,
  ) {
    super(engineMessage);
    this.name = "EngineStatusError";
  }
}

/** The message in an engine's error body: `{ message }` (Docker, Podman), `{ cause }` (Podman), or plain text. */
export function engineText(body: unknown): string | undefined {
  if (body === null || body === undefined) return undefined;
  if (Buffer.isBuffer(body) || typeof body === "string") return body.toString().trim() || undefined;
  if (typeof body !== "object") return undefined;
  const { message, cause } = body as { message?: unknown; cause?: unknown };
  if (typeof message === "string" && message.trim()) return message.trim();
  if (typeof cause === "string" && cause.trim()) return cause.trim();
  return undefined;
}

/** An error answer that said nothing, named by its status rather than shown as nothing. */
export function silentStatus(status: number): string {
  return `HTTP ${status} ${STATUS_CODES[status] ?? ""}`.trimEnd() + ", with no message from the engine";
}

/** A failed connection to the daemon's socket in a few words, for the codes people meet; undefined for others. */
export function socketReason(code: string | undefined): string | undefined {
  if (code === "ENOENT") return "no socket there";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "EACCES") return "permission denied on the socket";
  return undefined;
}

/**
 * What the engine itself said, whichever client asked. The node:http client raises
 * EngineStatusError with the engine's text already taken out. dockerode wraps an HTTP error as
 * `(HTTP code 400) unexpected - <text>` with the body in `json`: the engine's text is kept,
 * dockerode's label dropped, and an empty answer named by its status. A socket error is said
 * shortly; an answer that is not what the Engine API describes (a failed schema) is said so.
 */
export function reasonOf(error: unknown): string {
  if (error instanceof EngineStatusError) return error.engineMessage;
  if (error instanceof $ZodError) return "the engine's answer was not what the Engine API describes";
  const e = error as { code?: string; message?: string; reason?: string; statusCode?: number; json?: unknown };
  const fromJson = engineText(e?.json);
  if (fromJson) return fromJson;
  const socket = socketReason(e?.code);
  if (socket) return socket;
  if (typeof e?.statusCode === "number") {
    const wrapped = /^\(HTTP code \d+\) .*? - ([\s\S]*)$/.exec(e.message ?? "");
    const text = wrapped?.[1]?.trim();
    if (text && text !== "[object Object]") return text;
    return silentStatus(e.statusCode);
  }
  return e?.reason ?? e?.message ?? String(error);
}
