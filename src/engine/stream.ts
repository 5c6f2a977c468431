import { StringDecoder } from "node:string_decoder";
import { z } from "zod";

/** One JSON message of the Engine's build/push/pull streams. */
export const engineMessageSchema = z.looseObject({
  stream: z.string().optional(),
  status: z.string().optional(),
  id: z.string().optional(),
  progress: z.string().optional(),
  progressDetail: z.looseObject({ current: z.number().optional(), total: z.number().optional() }).optional(),
  error: z.string().optional(),
  errorDetail: z.looseObject({ message: z.string().optional(), code: z.number().optional() }).optional(),
  aux: z.looseObject({ ID: z.string().optional(), Tag: z.string().optional(), Digest: z.string().optional(), Size: z.number().optional() }).optional(),
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
