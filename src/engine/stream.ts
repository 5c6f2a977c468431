import { StringDecoder } from "node:string_decoder";
import * as z from "../_internal/zod-mini.js";

/** One JSON message of the Engine's build/push/pull streams. */
export const engineMessageSchema = z.looseObject({
  stream: z.optional(z.string()),
  status: z.optional(z.string()),
  id: z.optional(z.string()),
  progress: z.optional(z.string()),
  progressDetail: z.optional(z.looseObject({ current: z.optional(z.number()), total: z.optional(z.number()) })),
  error: z.optional(z.string()),
  errorDetail: z.optional(z.looseObject({ message: z.optional(z.string()), code: z.optional(z.number()) })),
  aux: z.optional(z.looseObject({ ID: z.optional(z.string()), Tag: z.optional(z.string()), Digest: z.optional(z.string()), Size: z.optional(z.number()) })),
});
export type EngineMessage = z.infer<typeof engineMessageSchema>;

/**
 * Reads the newline-delimited JSON the Engine streams for build, push and pull. Messages may be
 * split across chunks; a line that is not JSON is passed on as `{ stream: line }`.
 */
export async function* engineMessages(stream: NodeJS.ReadableStream): AsyncGenerator<EngineMessage> {
  let buffered = "";
  // A chunk may end inside a multi-byte UTF-8 character: the decoder keeps those bytes for the next.
  const decoder = new StringDecoder("utf8");
  for await (const chunk of stream) {
    buffered += typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer);
    let newline: number;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield parseLine(line);
    }
  }
  buffered += decoder.end();
  if (buffered.trim()) yield parseLine(buffered.trim());
}

function parseLine(line: string): EngineMessage {
  try {
    const parsed = engineMessageSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : { stream: line };
  } catch {
    return { stream: line };
  }
}

/** The error a message carries, if any (errorDetail wins: it is the full text). */
export function messageError(message: EngineMessage): string | undefined {
  return message.errorDetail?.message ?? message.error;
}

/**
 * Splits the Engine's multiplexed stream (an attach, a service's logs; no TTY): frames of an 8-byte header — the stream
 * (1 stdout, 2 stderr), three zero bytes, the payload's length (uint32, big-endian) — and the payload.
 * Resolves when the stream ends.
 */
export function demux(stream: NodeJS.ReadableStream, onStdout: (chunk: Buffer) => void, onStderr: (chunk: Buffer) => void): Promise<void> {
  let buffered: Buffer = Buffer.alloc(0);
  return new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      while (buffered.length >= 8) {
        const size = buffered.readUInt32BE(4);
        if (buffered.length < 8 + size) break;
        const payload = buffered.subarray(8, 8 + size);
        if (buffered[0] === 2) onStderr(payload);
        else onStdout(payload);
        buffered = buffered.subarray(8 + size);
      }
    });
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", reject);
  });
}
