import { inspect } from "node:util";
import type { ErrorStory } from "../errors.js";

/** Causes followed at most this deep (a cycle stops earlier). */
const MAX_CAUSES = 10;

/** What a thrown value says about itself: name, message, code and stack for an Error, its text otherwise. */
export function storyOf(value: unknown): ErrorStory {
  if (value instanceof Error || (typeof value === "object" && value !== null && typeof (value as Error).message === "string")) {
    const e = value as Error & { code?: unknown };
    const name = typeof e.name === "string" && e.name ? e.name : "Error";
    const story: ErrorStory = { name, message: e.message };
    if (typeof e.code === "string") story.code = e.code;
    const stack = stackOf(e);
    if (stack) story.stack = stack;
    return story;
  }
  return { name: value === null ? "null" : typeof value, message: typeof value === "string" ? value : inspect(value, { depth: 2, breakLength: Infinity }) };
}

/** The `cause` chain of an error, outermost first, without the error itself (cycles and depth bounded). */
export function causesOf(error: unknown): ErrorStory[] {
  const seen = new Set<unknown>([error]);
  const chain: ErrorStory[] = [];
  let current = causeOf(error);
  while (current !== undefined && !seen.has(current) && chain.length < MAX_CAUSES) {
    seen.add(current);
    chain.push(storyOf(current));
    current = causeOf(current);
  }
  return chain;
}

/** `Name: message` — just the message for a plain `Error`, whose name says nothing. */
export function headline(story: ErrorStory): string {
  return story.name === "Error" || !story.name ? story.message : `${story.name}: ${story.message}`;
}

/** ` (caused by: TypeError: x; caused by: …)`, or "" without causes. */
export function causeSummary(causes: ErrorStory[]): string {
  return causes.length === 0 ? "" : ` (${causes.map((c) => `caused by: ${headline(c)}`).join("; ")})`;
}

function causeOf(value: unknown): unknown {
  return typeof value === "object" && value !== null && "cause" in value ? (value as { cause?: unknown }).cause : undefined;
}

function stackOf(error: Error): string | undefined {
  try {
    return typeof error.stack === "string" && error.stack ? error.stack : undefined;
  } catch {
    return undefined; // a getter that throws: no stack rather than no story
  }
}
