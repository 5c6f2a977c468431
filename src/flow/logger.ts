export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function levelFromEnv(): LogLevel {
  const value = process.env.FLOWPACK_LOG_LEVEL?.toLowerCase();
  return value === "debug" || value === "info" || value === "warn" || value === "error" ? value : "info";
}

/**
 * A flow's logger: one line per record on stderr (stdout is reserved for the result),
 * `LEVEL flow-name: message {"field":…}`.
 */
export function createLogger(
  scope: string,
  write: (line: string) => void = (line) => process.stderr.write(line + "\n"),
  minLevel: LogLevel = levelFromEnv(),
): Logger {
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const suffix = fields && Object.keys(fields).length > 0 ? " " + safeJson(fields) : "";
    write(`${level.toUpperCase().padEnd(5)} ${scope}: ${message}${suffix}`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return "[unserializable]";
  }
}
