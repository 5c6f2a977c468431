import { fileURLToPath } from "node:url";
import { FlowRunError, InterruptedError } from "../errors.js";
import { causeSummary, causesOf, headline, storyOf } from "../_internal/error-story.js";
import { stopSignalOf } from "../_internal/stop.js";
import type { ErrorStory } from "../errors.js";

/** This module's file: in the CLI and the in-image runner (one bundle each) all of flowpack's own code. */
const OWN_FILE = import.meta.url;
const OWN_PATH = OWN_FILE.startsWith("file:") ? fileURLToPath(OWN_FILE) : OWN_FILE;

/**
 * What the flow threw, as a FlowRunError that keeps its story: one line naming the error's class
 * (unless it is a plain Error), its message and its causes; the stacks ride along for --debug and
 * --json.
 */
export function flowFailure(flowName: string, thrown: unknown, runId?: string): FlowRunError {
  const flowError = withoutOwnFrames(storyOf(thrown));
  const causes = causesOf(thrown).map(withoutOwnFrames);
  return new FlowRunError(`flow "${flowName}" failed: ${headline(flowError)}${causeSummary(causes)}`, { cause: thrown, flowError, causes, runId });
}

/**
 * Waits for the flow; once `signal` aborts (SIGINT/SIGTERM), waits at most `graceMs` more for it to
 * settle, then raises InterruptedError (exit 130/143) whatever it did: a stopped run is not a result.
 */
export async function untilStopped<T>(flowName: string, work: Promise<T>, signal: AbortSignal | undefined, graceMs: number): Promise<T> {
  if (!signal) return work;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<"late">((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve("late"), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const settled = work.then(
    () => "settled" as const,
    () => "settled" as const,
  );
  try {
    const outcome = await Promise.race([settled, stopped]);
    if (!signal.aborted) return await work;
    const by = stopSignalOf(signal) ?? "SIGINT";
    const grace = graceMs >= 1000 ? `${Math.round(graceMs / 100) / 10} s` : `${graceMs} ms`;
    throw new InterruptedError(
      outcome === "late"
        ? `interrupted by ${by}: flow "${flowName}" did not stop within ${grace} of ctx.signal aborting`
        : `interrupted by ${by}: flow "${flowName}" stopped after ctx.signal aborted`,
      { signal: by },
    );
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** The story with the stack frames of flowpack's own code (how it called the flow) left out: the user's frames remain. */
function withoutOwnFrames(story: ErrorStory): ErrorStory {
  if (!story.stack) return story;
  const frame = /^\s+at .*?\(?(?:file:\/\/)?(\/[^():]+|[A-Za-z]:[^():]+):\d+:\d+\)?$/;
  const lines = story.stack.split("\n").filter((line) => {
    const file = frame.exec(line)?.[1];
    return !(file && (file === OWN_PATH || `file://${file}` === OWN_FILE));
  });
  return { ...story, stack: lines.join("\n") };
}
