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
