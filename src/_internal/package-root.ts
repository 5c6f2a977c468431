import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

type PackageJson = { name: string; version: string; dependencies?: Record<string, string> };

const here = dirname(fileURLToPath(import.meta.url));
const found = findPackage(here);

/**
 * This copy of flowpack's package folder: the nearest folder above this module whose package.json
 * is flowpack's. The same answer whether the code runs from src/ (tests), from tsc's dist/ tree
 * (the library) or from the bundled CLI (dist/cli.mjs).
 */
export const PACKAGE_ROOT: string = found.dir;

/** Where the running code's module tree lives: `<root>/src` from sources, else `<root>/dist`. */
export const MODULE_TREE: string = join(PACKAGE_ROOT, relative(PACKAGE_ROOT, here).split(sep)[0] === "src" ? "src" : "dist");

/** This copy's package.json. */
export const PACKAGE_JSON: PackageJson = found.json;

/** Read once, at start-up of every command: the folder and the parsed package.json together. */
function findPackage(start: string): { dir: string; json: PackageJson } {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, "utf8")) as PackageJson;
      if (json.name === "flowpack") return { dir, json };
    }
    if (dirname(dir) === dir) throw new Error(`flowpack's package.json was not found above ${start}`);
  }
}
