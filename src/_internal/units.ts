import * as z from "./zod-mini.js";
import { UsageError } from "../errors.js";

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** 30s, 5m, 1.5h, 250ms; a bare number is seconds. At most 7 days (setTimeout's range is ~24.8 days). */
const durationSchema = z.pipe(
  z.pipe(
    z.string().check(z.trim(), z.regex(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/, "expected a number with a unit: 250ms, 30s, 5m, 1h")),
    z.transform((text: string) => {
      const [, amount, unit = "s"] = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text)!;
      return Math.round(Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS]);
    }),
  ),
  z.number().check(z.int(), z.minimum(1, "must be more than 0"), z.maximum(7 * 24 * 3_600_000, "at most 7 days")),
);

/** Milliseconds of a duration as people write it (`--timeout 30s`); a bad one is a UsageError naming the flag. */
export function parseDuration(text: string, flag = "--timeout"): number {
  return parse(durationSchema, text, flag);
}

/** How a duration in milliseconds reads in a message: 1500 → "1.5s", 300000 → "5m", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}

const MEMORY_UNITS = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;
/** 256m, 1g, 512k, 1048576 (bytes), as `docker run --memory` takes it; at least 6 MiB (Docker's own minimum). */
const memorySchema = z.pipe(
  z.pipe(
    z.string().check(z.trim(), z.toLowerCase(), z.regex(/^(\d+(?:\.\d+)?)([bkmg])?b?$/, "expected bytes or a number with a unit: 512k, 256m, 1g")),
    z.transform((text: string) => {
      const [, amount, unit = "b"] = /^(\d+(?:\.\d+)?)([bkmg])?b?$/.exec(text)!;
      return Math.floor(Number(amount) * MEMORY_UNITS[unit as keyof typeof MEMORY_UNITS]);
    }),
  ),
  z.number().check(z.int(), z.minimum(6 * 1024 ** 2, "at least 6m"), z.maximum(Number.MAX_SAFE_INTEGER)),
);

/** Bytes of a memory limit (`--memory 256m`). */
export function parseMemory(text: string | number, flag = "--memory"): number {
  return parse(memorySchema, String(text), flag);
}

/** CPUs as `docker run --cpus` takes them (0.5, 2): more than 0, at most 1024. Returned as NanoCPUs. */
const cpusSchema = z.pipe(
  z.pipe(z.string().check(z.trim(), z.regex(/^\d+(?:\.\d+)?$/, "expected a number of CPUs: 0.5, 1, 2")), z.transform(Number)),
  z.number().check(z.gt(0, "must be more than 0"), z.maximum(1024, "at most 1024")),
);

export function parseCpus(text: string | number, flag = "--cpus"): number {
  return Math.round(parse(cpusSchema, String(text), flag) * 1e9);
}

function parse<T>(schema: z.ZodMiniType<T, string>, text: string, flag: string): T {
  const parsed = schema.safeParse(text);
  if (parsed.success) return parsed.data;
  throw new UsageError(`${flag} ${JSON.stringify(text)}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
}
