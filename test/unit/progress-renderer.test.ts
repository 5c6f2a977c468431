import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createProgressRenderer, formatBytes } from "../../src/cli/progress.js";

interface FakeStream {
  isTTY?: boolean;
  columns?: number;
  written: string[];
  write(chunk: string): boolean;
}

function fakeStream(tty: boolean, columns?: number): FakeStream & NodeJS.WriteStream {
  const stream: FakeStream = {
    isTTY: tty,
    columns,
    written: [],
    write(chunk: string) {
      this.written.push(chunk);
      return true;
    },
  };
  return stream as FakeStream & NodeJS.WriteStream;
}

beforeEach(() => {
  vi.stubEnv("CI", "");
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("createProgressRenderer, not a terminal", () => {
  it("writes plain lines and drops a repeat of the previous line", () => {
    const stream = fakeStream(false);
    const render = createProgressRenderer(stream);
    render({ phase: "bundle", message: "src/flow.ts" });
    render({ phase: "build", message: "Step 1/5 : FROM node:20" });
    render({ phase: "build", message: "Step 1/5 : FROM node:20" });
    render({ phase: "build", message: "Step 2/5 : ENV" });
    render({ phase: "build", message: "Step 1/5 : FROM node:20" });
    render.done();
    expect(stream.written).toEqual([
      "bundle: src/flow.ts\n",
      "build: Step 1/5 : FROM node:20\n",
      "build: Step 2/5 : ENV\n",
      "build: Step 1/5 : FROM node:20\n",
    ]);
  });

  it("leaves out byte-level updates but shows completion with the size", () => {
    const stream = fakeStream(false);
    const render = createProgressRenderer(stream);
    render({ phase: "push", message: "layer abc", id: "abc", current: 0, total: 2048 });
    render({ phase: "push", message: "layer abc", id: "abc", current: 1024, total: 2048 });
    render({ phase: "push", message: "layer abc", id: "abc", current: 2048, total: 2048 });
    render({ phase: "push", message: "uploading", current: 10 });
    expect(stream.written).toEqual(["push: layer abc 2.0 KiB/2.0 KiB\n"]);
  });

  it("treats CI=true as not a terminal even on a TTY", () => {
    vi.stubEnv("CI", "true");
    const stream = fakeStream(true);
    const render = createProgressRenderer(stream);
    render({ phase: "build", message: "one" });
    render.done();
    expect(stream.written).toEqual(["build: one\n"]);
  });

  it("writes nothing when quiet", () => {
    const stream = fakeStream(false);
    const render = createProgressRenderer(stream, true);
    render({ phase: "build", message: "one" });
    render.done();
    expect(stream.written).toEqual([]);
  });
});

describe("createProgressRenderer, on a terminal", () => {
  it("rewrites one live line in place, bytes included, and done() clears it", () => {
    const stream = fakeStream(true, 80);
    const render = createProgressRenderer(stream);
    render({ phase: "push", message: "layer abc", current: 512, total: 2 * 1024 * 1024 });
    render({ phase: "push", message: "layer abc", current: 512, total: 2 * 1024 * 1024 });
    render({ phase: "build", message: "Step 2/5" });
    render.done();
    expect(stream.written).toEqual([
      "\r\x1b[Kpush: layer abc 512 B/2.0 MiB",
      "\r\x1b[Kpush: layer abc 512 B/2.0 MiB",
      "\r\x1b[Kbuild: Step 2/5",
      "\r\x1b[K",
    ]);
  });

  it("cuts the line to the terminal width (one column spare, at least 20)", () => {
    const stream = fakeStream(true, 11);
    const render = createProgressRenderer(stream);
    render({ phase: "build", message: "x".repeat(100) });
    expect(stream.written).toEqual([`\r\x1b[Kbuild: ${"x".repeat(13)}`]);
    const wide = fakeStream(true, 30);
    createProgressRenderer(wide)({ phase: "build", message: "y".repeat(100) });
    expect(wide.written).toEqual([`\r\x1b[Kbuild: ${"y".repeat(22)}`]);
  });

  it("done() writes nothing when nothing is live", () => {
    const stream = fakeStream(true, 80);
    const render = createProgressRenderer(stream);
    render.done();
    render({ phase: "run", message: "go" });
    render.done();
    render.done();
    expect(stream.written).toEqual(["\r\x1b[Krun: go", "\r\x1b[K"]);
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [1024 * 1024 - 1024, "1023.0 KiB"],
    [1024 * 1024, "1.0 MiB"],
    [5.25 * 1024 * 1024, "5.3 MiB"],
    [3 * 1024 * 1024 * 1024, "3072.0 MiB"],
  ])("%d → %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});
