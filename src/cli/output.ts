/** Where the CLI writes: results to stdout, everything for people to stderr. */
export interface Output {
  json: boolean;
  debug: boolean;
  /** A result: JSON text or a line for people. */
  result(text: string): void;
  /** A status line for people, on stderr. */
  info(text: string): void;
}

export function createOutput(options: { json?: boolean; debug?: boolean }): Output {
  return {
    json: Boolean(options.json),
    debug: Boolean(options.debug),
    result: (text) => process.stdout.write(text.endsWith("\n") ? text : text + "\n"),
    info: (text) => process.stderr.write(text + "\n"),
  };
}
