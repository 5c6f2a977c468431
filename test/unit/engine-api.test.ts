import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { demux } from "../../src/engine/stream.js";

const frame = (stream: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe("the Engine's multiplexed attach stream", () => {
  it("splits stdout from stderr, also when frames arrive cut at any byte", async () => {
    const bytes = Buffer.concat([frame(2, "log line\n"), frame(1, '{"result":'), frame(2, "ünïcode\n"), frame(1, "1}\n")]);
    for (const cut of [1, 3, 7, 8, 9, 13, bytes.length]) {
      const stream = new PassThrough();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const ended = demux(stream, (c) => out.push(c), (c) => err.push(c));
      for (let i = 0; i < bytes.length; i += cut) stream.write(bytes.subarray(i, i + cut));
      stream.end();
      await ended;
      expect(Buffer.concat(out).toString()).toBe('{"result":1}\n');
      expect(Buffer.concat(err).toString()).toBe("log line\nünïcode\n");
    }
  });
});
