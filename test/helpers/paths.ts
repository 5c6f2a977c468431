import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const fixture = (...parts: string[]): string => fileURLToPath(new URL(`../fixtures/${parts.join("/")}`, import.meta.url));
export const example = (...parts: string[]): string => fileURLToPath(new URL(`../../examples/${parts.join("/")}`, import.meta.url));
