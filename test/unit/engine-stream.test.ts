import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { engineMessages, messageError, type EngineMessage } from "../../src/engine/stream.js";

async function collect(chunks: (string | Buffer)[]): Promise<EngineMessage[]> {
  const messages: EngineMessage[] = [];
  for await (const message of engineMessages(Readable.from(chunks, { objectMode: true }))) messages.push(message);
  return messages;
}

describe("engineMessages", () => {
  it("joins a message split across chunks", async () => {
    const line = JSON.stringify({ status: "Pushing", id: "abc123", progressDetail: { current: 512, total: 1024 } }) + "\n";
    const messages = await collect([Buffer.from(line.slice(0, 7)), Buffer.from(line.slice(7, 30)), Buffer.from(line.slice(30))]);
    expect(messages).toEqual([{ status: "Pushing", id: "abc123", progressDetail: { current: 512, total: 1024 } }]);
  });

  it("yields several messages from one chunk, in order, skipping blank lines", async () => {
    const chunk = '{"stream":"Step 1/3 : FROM node:20\\n"}\n\n{"stream":" ---> abc\\n"}\r\n{"aux":{"ID":"sha256:1234"}}\n';
    expect(await collect([chunk])).toEqual([{ stream: "Step 1/3 : FROM node:20\n" }, { stream: " ---> abc\n" }, { aux: { ID: "sha256:1234" } }]);
  });

  it("passes a line that is not JSON (or not an object) on as a stream message", async () => {
    const messages = await collect(['{"status":"ok"}\nnot json at all\n{"broken":\n42\n']);
    expect(messages).toEqual([{ status: "ok" }, { stream: "not json at all" }, { stream: '{"broken":' }, { stream: "42" }]);
  });

  it("keeps a message whose fields have unexpected types as text rather than dropping it", async () => {
    const messages = await collect(['{"status": 5}\n']);
    expect(messages).toEqual([{ stream: '{"status": 5}' }]);
  });

  it("keeps unknown fields", async () => {
    const messages = await collect(['{"status":"Digest: sha256:ab","extra":{"x":1}}\n']);
    expect(messages).toEqual([{ status: "Digest: sha256:ab", extra: { x: 1 } }]);
  });

  it("yields trailing data that has no final newline", async () => {
    const messages = await collect(['{"status":"one"}\n{"status":', '"two"}']);
    expect(messages).toEqual([{ status: "one" }, { status: "two" }]);
    expect(await collect(["partial line"])).toEqual([{ stream: "partial line" }]);
  });

  it("decodes a multi-byte character split between chunks", async () => {
    const bytes = Buffer.from('{"stream":"✓ café 🚀"}\n', "utf8");
    const check = bytes.indexOf(Buffer.from("✓"));
    const rocket = bytes.indexOf(Buffer.from("🚀"));
    const chunks = [bytes.subarray(0, check + 1), bytes.subarray(check + 1, rocket + 2), bytes.subarray(rocket + 2)];
    expect(await collect(chunks)).toEqual([{ stream: "✓ café 🚀" }]);
  });

  it("reads a live stream as data arrives", async () => {
    const stream = new PassThrough();
    const iterator = engineMessages(stream);
    stream.write('{"status":"first"}\n{"sta');
    expect((await iterator.next()).value).toEqual({ status: "first" });
    stream.end('tus":"second"}\n');
    expect((await iterator.next()).value).toEqual({ status: "second" });
    expect((await iterator.next()).done).toBe(true);
  });

  it("yields nothing for an empty stream", async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect(["\n\n  \n"])).toEqual([]);
  });
});

describe("messageError", () => {
  it("prefers errorDetail.message (the full text) over error", () => {
    expect(messageError({ error: "short", errorDetail: { message: "the full error text", code: 1 } })).toBe("the full error text");
  });

  it("falls back to error when errorDetail has no message", () => {
    expect(messageError({ error: "denied: requested access to the resource is denied" })).toBe("denied: requested access to the resource is denied");
    expect(messageError({ error: "boom", errorDetail: { code: 2 } })).toBe("boom");
  });

  it("is undefined for a message without an error", () => {
    expect(messageError({ status: "Pushed", id: "abc" })).toBeUndefined();
    expect(messageError({ stream: "error: this is just build output" })).toBeUndefined();
  });
});
