/**
 * TCP servers on 127.0.0.1:0 that misbehave the way a stuck registry does: `mute` accepts
 * connections and never answers; `stalled` answers every request with 200 headers and the first
 * byte of a body it never finishes. Both close every connection they hold on close().
 */
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface SilentServer {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** Connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

export function startSilentServer(kind: "mute" | "stalled"): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      if (kind !== "stalled" || !text.includes("\r\n\r\n")) return;
      socket.write(
        "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.oci.image.manifest.v1+json\r\n" +
          `docker-distribution-api-version: registry/2.0\r\ncontent-length: 100000\r\n\r\n${text.startsWith("HEAD ") ? "" : "{"}`,
      );
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        host: `127.0.0.1:${port}`,
        connections: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * A port where connecting never completes: a listener with a backlog of 0 that never accepts, its
 * queue filled by connections of its own, so the kernel drops further SYNs. Node's servers always
 * accept, so this is a small python3 process. Resolves undefined when python3 is missing or this
 * kernel completes the connection anyway (then the case cannot be staged here).
 */
export async function startUnacceptingPort(): Promise<{ host: string; close(): void } | undefined> {
  const { spawn } = await import("node:child_process");
  const { connect } = await import("node:net");
  const script = [
    "import socket, time",
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    "port = s.getsockname()[1]; fill = []",
    "for i in range(3):",
    "    c = socket.socket(); c.setblocking(False)",
    "    try: c.connect(('127.0.0.1', port))",
    "    except BlockingIOError: pass",
    "    fill.append(c)",
    "print(port, flush=True)",
    "time.sleep(120)",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
  const port = await new Promise<number | undefined>((resolve) => {
    child.on("error", () => resolve(undefined));
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    setTimeout(() => resolve(undefined), 5_000).unref();
  });
  const close = (): void => {
    child.kill();
  };
  if (!port) {
    close();
    return undefined;
  }
  // Staged only if a probe does not connect within half a second.
  const connects = await new Promise<boolean>((resolve) => {
    const probe = connect(port, "127.0.0.1");
    const timer = setTimeout(() => (probe.destroy(), resolve(false)), 500);
    probe.on("connect", () => (clearTimeout(timer), probe.destroy(), resolve(true)));
    probe.on("error", () => (clearTimeout(timer), resolve(true)));
  });
  if (connects) {
    close();
    return undefined;
  }
  return { host: `127.0.0.1:${port}`, close };
}
