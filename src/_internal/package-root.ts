import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * This copy of flowpack's package folder: the nearest folder above this module whose package.json
 * is flowpack's. The same answer whether the code runs from src/ (tests), from tsc's dist/ tree
 * (the library) or from the bundled CLI (dist/cli.mjs).
 */
export const PACKAGE_ROOT: string = findPackageRoot(here);

/** Where the running code's module tree lives: `<root>/src` from sources, else `<root>/dist`. */
export const MODULE_TREE: string = join(PACKAGE_ROOT, relative(PACKAGE_ROOT, here).split(sep)[0] === "src" ? "src" : "dist");

/** This copy's package.json. */
export const PACKAGE_JSON: { name: string; version: string; dependencies?: Record<string, string> } = JSON.parse(
  readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"),
) as { name: string; version: string; dependencies?: Record<string, string> };

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name === "flowpack") return dir;
    if (dirname(dir) === dir) throw new Error(`flowpack's package.json was not found above ${start}`);
  }
}
