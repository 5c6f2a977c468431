import type { JsonSchema } from "./schema.js";

/**
 * The messages between a FlowReader (reader.ts) and its worker thread (reader-worker.ts).
 * Buffers arrive as Uint8Arrays (structured clone).
 */
export interface ReaderVendor {
  code: Uint8Array;
  map: Uint8Array;
  digest: string;
}

export type ReaderRequest =
  | { kind: "preload"; projectRoot: string; vendor: ReaderVendor }
  | {
      kind: "read";
      bundle: { code: Uint8Array; map?: Uint8Array; projectRoot: string; entry?: string; assetsRoot?: string; vendor?: ReaderVendor };
      flowName: string | undefined;
      where: string;
      /** Set in the thread's environment (its own copy of this process's) before the bundle loads. */
      env: Record<string, string>;
    };

export type ReaderAnswer = { kind: "flow"; name: string; parameterSchema: JsonSchema } | { kind: "error"; error: SerializedError };

/** An error as it crosses the thread boundary: what reporting it needs, its cause chain included. */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  /** A FlowpackError's (or a Node error's) code. */
  code: string | undefined;
  exitCode: number | undefined;
  hint: string | undefined;
  /** FileSystemError fields. */
  path: string | undefined;
  errno: string | undefined;
  cause: SerializedError | undefined;
}

export function serializeError(error: unknown, depth = 0): SerializedError {
  const e = error instanceof Error ? error : new Error(String(error));
  const fields = e as Error & { code?: unknown; exitCode?: unknown; hint?: unknown; path?: unknown; errno?: unknown };
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    code: text(fields.code),
    exitCode: typeof fields.exitCode === "number" ? fields.exitCode : undefined,
    hint: text(fields.hint),
    path: text(fields.path),
    errno: text(fields.errno),
    cause: e.cause !== undefined && depth < 8 ? serializeError(e.cause, depth + 1) : undefined,
  };
}
