import type { CachedVendorFiles } from "../bundle/vendor.js";
import type { JsonSchema } from "./schema.js";

/**
 * The messages between a FlowReader (reader.ts) and its worker thread (reader-worker.ts).
 * Buffers arrive as Uint8Arrays (structured clone: copied, so a vendor module's megabytes go by file
 * name and digest where they can).
 */
/**
 * The vendor module a bundle imports: its bytes, or only its digest when the thread was asked to
 * preload that very module (it then has it, or answers VENDOR_NOT_PRELOADED and the flow is read in
 * the main thread).
 */
export interface ReaderVendor {
  digest: string;
  code?: Uint8Array;
  map?: Uint8Array;
}

/** The error code of a read whose vendor module the thread does not have (its preload failed). */
export const VENDOR_NOT_PRELOADED = "VENDOR_NOT_PRELOADED";

export type ReaderRequest =
  /** Load this cached vendor module ahead of the bundle (the thread reads the files and checks them). */
  | { kind: "preload"; projectRoot: string; vendor: CachedVendorFiles }
  | {
      kind: "read";
      bundle: { code: Uint8Array; map?: Uint8Array; projectRoot: string; entry?: string; assetsRoot?: string; vendor?: ReaderVendor };
      flowName: string | undefined;
      where: string;
      /** Set in the thread's environment (its own copy of this process's) while the bundle loads. */
      env: Record<string, string>;
    }
  /** Remove the temporary folder and end the thread (sent once the answer is in, or not wanted). */
  | { kind: "close" };

export type ReaderAnswer = { kind: "flow"; name: string; parameterSchema: JsonSchema } | { kind: "error"; error: SerializedError };

/**
 * Sent SETTLE_MS after each answer: what the read started that is still going on then, by Node's
 * names for it ("Timeout", "TCPSocketWrap", "Immediate"…; see reader-worker.ts). A thread kept for
 * the next read (a warm process's) is not kept when there is any.
 */
export interface ReaderNotice {
  kind: "settled";
  leftRunning: string[];
}

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
