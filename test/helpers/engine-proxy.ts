/**
 * An in-process HTTP proxy on a unix socket in front of the test daemon's socket, which records
 * every Engine API request (method and path, query left out) and its status: point DOCKER_HOST at
 * `host` to count the round trips a client makes. Streams (attach, wait, pull) pass through as they
 * come, headers first, so a client that waits for a response's headers before its next request sees
 * the daemon's timing. Loopback only: a socket file in a private folder, closed by close().
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EngineRequest {
  method: string;
  /** The path without the API version prefix (`/v1.45`) and without the query: `/containers/create`, `/containers/{id}/start` with the id as `{id}`. */
  path: string;
  status?: number;
}

export interface EngineProxy {
  /** `unix://…`: the DOCKER_HOST to give the client. */
  readonly host: string;
  readonly requests: EngineRequest[];
  close(): Promise<void>;
}

export async function startEngineProxy(daemonHost: string): Promise<EngineProxy> {
  if (!daemonHost.startsWith("unix://")) throw new Error(`the engine proxy needs a unix:// daemon, not ${daemonHost}`);
  const upstream = daemonHost.slice("unix://".length);
  const dir = mkdtempSync(join(tmpdir(), "flowpack-engine-proxy-"));
  const socketPath = join(dir, "engine.sock");
  const requests: EngineRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? "/", "http://engine");
    const record: EngineRequest = {
      method: incoming.method ?? "GET",
      path: url.pathname.replace(/^\/v\d+\.\d+/, "").replace(/^\/containers\/(?!create$)[^/]+/, "/containers/{id}"),
    };
    requests.push(record);
    const forward = httpRequest({ socketPath: upstream, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      record.status = answer.statusCode;
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      outgoing.flushHeaders();
      answer.pipe(outgoing);
    });
    forward.on("error", () => outgoing.destroy());
    incoming.pipe(forward);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    host: `unix://${socketPath}`,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
