/** Progress of long work, reported by packagers, builders and clients; the CLI renders it on stderr. */
export interface ProgressEvent {
  /** What is happening: bundle, build, push, pull, upload, run, … */
  phase: string;
  /** A line for people (a build step, "pushing layer …"). */
  message: string;
  /** Groups events about one thing (a layer digest, a step). */
  id?: string;
  current?: number;
  total?: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

export const ignoreProgress: ProgressListener = () => undefined;
