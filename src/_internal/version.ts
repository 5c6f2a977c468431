import { readFileSync } from "node:fs";

/** This copy of flowpack's version, from its package.json (src/ and dist/ are both two levels down). */
export const FLOWPACK_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
