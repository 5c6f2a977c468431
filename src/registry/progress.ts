/**
 * The registry client's events: RegistryProgressEvent, structured and per blob. flowpack's own
 * ProgressEvent (src/progress.ts: a phase and a line for people) is what packagers report; they
 * translate these into it for the CLI.
 *
 * For each blob a push emits exactly one terminal event — `skip` (already there), `mount`
 * (cross-repository mount) or `done` (uploaded) — and, when it uploads, `start` and `progress`
 * before `done`. A retried upload emits `start` again and its `progress` counts from 0. `retry`
 * reports a step that is being tried again.
 */

interface BlobEvent {
  repository: string;
  digest: string;
  /** Blob size in bytes. */
  size: number;
}

export type RegistryProgressEvent =
  | (BlobEvent & { type: "start"; attempt: number })
  | (BlobEvent & { type: "progress"; /** Bytes sent so far in this attempt. */ bytes: number })
  | (BlobEvent & { type: "skip" })
  | (BlobEvent & { type: "mount"; from: string })
  | (BlobEvent & { type: "done"; /** Bytes sent over the network for this blob, retries included. */ bytesSent: number })
  | {
      type: "retry";
      repository?: string | undefined;
      /** "HEAD blob", "PUT blob", "PUT manifest", "token" … */
      step: string;
      /** The attempt that failed (1-based). */
      attempt: number;
      delayMs: number;
      /** Redacted one-line reason. */
      reason: string;
    };

export type RegistryProgressListener = (event: RegistryProgressEvent) => void;

/** Calls the listener, never letting a faulty progress display break a push. */
export function emitter(listener: RegistryProgressListener | undefined): RegistryProgressListener {
  if (!listener) return () => {};
  return (event) => {
    try {
      listener(event);
    } catch {
      // a progress display must not fail the operation it displays
    }
  };
}
