import { lstatSync, readdirSync } from "node:fs";
import { dirname, join, posix, resolve } from "node:path";
import { relativePosix } from "../_internal/fs.js";

/**
 * Files beside the code. In the bundle every module of the project keeps its own location: its
 * `import.meta.url`, `import.meta.dirname`/`filename` and `__dirname`/`__filename` name the place
 * where that module's file would be if the project's folder were `ASSETS_DIR` beside the bundle.
 * Files the code reaches from there with a literal path (`new URL("./query.sql", import.meta.url)`,
 * `join(__dirname, "templates")`) are found here and shipped at that place, so the code finds them
 * wherever the bundle runs (in an image, `<appDir>/assets/<path in the project>`).
 */
export const ASSETS_DIR = "assets";

/** A file shipped beside the bundle. */
export interface BundleAsset {
  /** Path relative to the project root (POSIX): the file lands at `<bundle folder>/assets/<path>`. */
  path: string;
  /** Absolute path of the file on this machine. */
  file: string;
}

/** What scanning one module found. */
export interface ModuleScan {
  /** The module's source with its location made the bundle-relative one (undefined: unchanged). */
  contents: string | undefined;
  /** Absolute paths (files or folders) the module reaches with literal paths. */
  reached: string[];
  /** Uses of the module's location whose target cannot be known before run time (for warnings). */
  unresolved: { line: number; text: string }[];
}

const STRING = String.raw`(?:"([^"\\\n]*)"|'([^'\\\n]*)'|\x60([^\x60\\$\n]*)\x60)`;
const LITERAL_URL = new RegExp(String.raw`new\s+URL\(\s*${STRING}\s*,\s*import\.meta\.url\s*\)`, "g");
const ANY_URL = /new\s+URL\(([^)]*),\s*import\.meta\.url\s*\)/g;
const DIR_JOIN = new RegExp(String.raw`\b(?:join|resolve)\(\s*(?:__dirname|import\.meta\.dirname)((?:\s*,\s*${STRING})*)\s*(,|\))`, "g");
const DIR_USE = /\b__dirname\b|import\.meta\.dirname/g;
const DIR_DECLARED = /\b(?:const|let|var)\s+__dirname\b/;
const FILE_DECLARED = /\b(?:const|let|var)\s+__filename\b/;

/** Cheap test: whether a module's source can need scanning at all. */
export function mayUseLocation(source: string): boolean {
  return source.includes("import.meta") || source.includes("__dirname") || source.includes("__filename");
}

/**
 * Scans one of the project's modules (`file`, inside `projectRoot`): the files it reaches by
 * literal paths from its own location, the uses that are not literal, and its source rewritten so
 * that its location is the one the bundle gives it. The rewrite adds to the first line only (after
 * a `#!` line), so source maps keep their lines.
 */
export function scanModule(original: string, file: string, projectRoot: string): ModuleScan {
  const dir = dirname(file);
  const source = withoutComments(original); // same length and lines: indices match the original
  const reached: string[] = [];
  const literalAt = new Set<number>();
  for (const match of source.matchAll(LITERAL_URL)) {
    const value = match[1] ?? match[2] ?? match[3] ?? "";
    literalAt.add(match.index);
    if (/^\.{0,2}\//.test(value) || !/^[a-z][a-z0-9+.-]*:/i.test(value)) reached.push(resolve(dir, decodeURIComponentSafe(value)));
  }
  const unresolved: ModuleScan["unresolved"] = [];
  const lineOf = (index: number) => source.slice(0, index).split("\n").length;
  for (const match of source.matchAll(ANY_URL)) {
    if (!literalAt.has(match.index)) unresolved.push({ line: lineOf(match.index), text: match[0] });
  }
  const joinedAt = new Set<number>();
  for (const match of source.matchAll(DIR_JOIN)) {
    const parts = [...(match[1] ?? "").matchAll(new RegExp(STRING, "g"))].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
    if (match[match.length - 1] === "," || parts.length === 0) continue; // a non-literal part follows, or the folder itself
    reached.push(resolve(dir, ...parts));
    joinedAt.add(match.index + match[0].search(/__dirname|import\.meta\.dirname/));
  }
  const declaresDir = DIR_DECLARED.test(source);
  for (const match of source.matchAll(DIR_USE)) {
    if (joinedAt.has(match.index)) continue;
    const lineStart = source.lastIndexOf("\n", match.index) + 1;
    const lineEnd = source.indexOf("\n", match.index);
    const lineText = source.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).trim();
    if (declaresDir && DIR_DECLARED.test(lineText)) continue; // its definition, not a use
    unresolved.push({ line: lineOf(match.index), text: lineText.length > 80 ? `${lineText.slice(0, 77)}...` : lineText });
  }
  return { contents: relocated(original, file, projectRoot, declaresDir, FILE_DECLARED.test(source)), reached, unresolved };
}

/** The module's source with `import.meta.url` (and friends) and free `__dirname`/`__filename` set to its place under ASSETS_DIR. */
function relocated(source: string, file: string, projectRoot: string, declaresDir: boolean, declaresFile: boolean): string | undefined {
  const rel = relativePosix(projectRoot, file);
  const url = JSON.stringify(`./${ASSETS_DIR}/${encodeURI(rel)}`);
  const usesMeta = /import\.meta\.(url|dirname|filename)\b/.test(source);
  const usesDir = !declaresDir && /\b__dirname\b/.test(source);
  const usesFile = !declaresFile && /\b__filename\b/.test(source);
  if (!usesMeta && !usesDir && !usesFile) return undefined;
  // Unique names: esbuild renames a module's top-level names where they would clash in the bundle.
  const prelude = [
    `const __flowpackModuleUrl = new URL(${url}, import.meta.url).href;`,
    "const __flowpackModuleFile = decodeURIComponent(new URL(__flowpackModuleUrl).pathname);",
    "const __flowpackModuleDir = __flowpackModuleFile.slice(0, __flowpackModuleFile.lastIndexOf(\"/\"));",
    ...(usesDir ? ["var __dirname = __flowpackModuleDir;"] : []),
    ...(usesFile ? ["var __filename = __flowpackModuleFile;"] : []),
  ].join(" ");
  const body = source
    .replace(/import\.meta\.url\b/g, "__flowpackModuleUrl")
    .replace(/import\.meta\.dirname\b/g, "__flowpackModuleDir")
    .replace(/import\.meta\.filename\b/g, "__flowpackModuleFile");
  if (body.startsWith("#!")) {
    const end = body.indexOf("\n");
    return end < 0 ? `${body}\n${prelude}` : `${body.slice(0, end + 1)}${prelude} ${body.slice(end + 1)}`;
  }
  return `${prelude} ${body}`;
}

/**
 * The source with its comments blanked out (spaces; line breaks kept), strings left as they are.
 * A scanner, not a parser: good enough to keep commented-out code from being shipped or warned about.
 */
export function withoutComments(source: string): string {
  const out = source.split("");
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '"' || c === "'" || c === "`") {
      i++;
      while (i < source.length && source[i] !== c && !(c !== "`" && source[i] === "\n")) i += source[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") out[i++] = " ";
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      for (; i < stop; i++) if (source[i] !== "\n") out[i] = " ";
    } else {
      i++;
    }
  }
  return out.join("");
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The files under `target` (itself when a file), as assets of a project; a path outside the
 * project, inside node_modules or missing is named in `problems` instead.
 */
export function assetsAt(target: string, projectRoot: string, problems: string[]): BundleAsset[] {
  const rel = relativePosix(projectRoot, target);
  if (rel === "" || rel.startsWith("../") || rel === ".." || posix.isAbsolute(rel)) {
    problems.push(`${target} lies outside the project folder ${projectRoot}: not shipped`);
    return [];
  }
  if (rel.split("/").includes("node_modules")) return [];
  let stat;
  try {
    stat = lstatSync(target);
  } catch {
    problems.push(`${rel} does not exist: not shipped`);
    return [];
  }
  if (stat.isFile()) return [{ path: rel, file: target }];
  if (!stat.isDirectory()) return [];
  return readdirSync(target)
    .sort()
    .flatMap((name) => (name === "node_modules" || name === ".git" ? [] : assetsAt(join(target, name), projectRoot, problems)));
}
