import { lstatSync, readdirSync, type Stats } from "node:fs";
import { readlink, realpath, stat } from "node:fs/promises";
import { join, relative as relativeNative, resolve, sep } from "node:path";
import { posix } from "node:path";
import { resolveWithin, staysInside } from "./contain.js";
import { LayerError } from "../errors.js";
import { compareCodePoints } from "../oci/image.js";
import type { BuildLayerOptions, BuiltLayer, LayerEntry, Owner } from "./layer.js";
import { normaliseEntryPath } from "./layer-entries.js";
import { buildLayer } from "./layer-writer.js";

/** Folders as layers: a walk that turns a folder into deterministic layer entries, refusing what could escape it. */

export interface DirectoryLayerOptions extends BuildLayerOptions {
  /** Where the folder's contents land in the image (default `/`). The prefix directory itself is an entry too. */
  prefix?: string;
  /** Owner of every entry from the folder (default 0:0). Implicit parents of `prefix` use `parentOwner`. */
  owner?: Owner;
  /**
   * Return false to leave a path out (a directory: with everything below it). `relativePath` is
   * POSIX, relative to the folder, e.g. `.bin/tsc` or `lodash/package.json`.
   */
  filter?: (relativePath: string, stats: Stats) => boolean;
}

export interface DirectoryLayer extends BuiltLayer {
  /** Regular files taken from the folder, and their total size in bytes. */
  readonly fileCount: number;
  readonly fileBytes: number;
}

/**
 * Walks `dir` into layer entries: regular files (mode 0755 when any execute bit is set, else 0644),
 * directories (0755) and symlinks whose target stays inside `dir` (absolute targets inside `dir` are
 * rewritten as relative ones). The source's mtimes, owners and umask never reach the layer.
 * Sockets, FIFOs, devices and symlinks leaving the folder are refused, naming the path.
 */
export async function directoryEntries(
  dir: string,
  options: Pick<DirectoryLayerOptions, "prefix" | "owner" | "filter"> = {},
): Promise<{ entries: LayerEntry[]; fileCount: number; fileBytes: number }> {
  const root = resolve(dir);
  let rootInfo: Stats;
  try {
    rootInfo = await stat(root);
  } catch (error) {
    throw new LayerError(`cannot read folder ${root}: ${(error as Error).message}`, { cause: error });
  }
  if (!rootInfo.isDirectory()) throw new LayerError(`${root} is not a folder`);
  const realRoot = await realpath(root);
  const prefix = options.prefix === undefined || posix.normalize(`/${options.prefix}`) === "/" ? "" : normaliseEntryPath(options.prefix);
  const owner = options.owner ?? { uid: 0, gid: 0 };
  const entries: LayerEntry[] = [];
  let fileCount = 0;
  let fileBytes = 0;
  const inImage = (rel: string) => (prefix === "" ? rel : `${prefix}/${rel}`);
  if (prefix !== "") entries.push({ path: prefix, type: "dir", mode: 0o755, ...owner });

  const walk = async (relDir: string): Promise<void> => {
    const absDir = relDir === "" ? root : join(root, ...relDir.split("/"));
    // Synchronous listing: one call per directory instead of a thread-pool round trip per file.
    const names = readdirSync(absDir).sort(compareCodePoints);
    const infos = names.map((name) => lstatSync(join(absDir, name)));
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const info = infos[i]!;
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      if (options.filter && !options.filter(rel, info)) continue;
      const abs = join(absDir, name);
      if (info.isDirectory()) {
        entries.push({ path: inImage(rel), type: "dir", mode: 0o755, ...owner });
        await walk(rel);
      } else if (info.isFile()) {
        entries.push({
          path: inImage(rel),
          type: "file",
          mode: (info.mode & 0o111) !== 0 ? 0o755 : 0o644,
          ...owner,
          content: { fromFile: abs, size: info.size },
        });
        fileCount++;
        fileBytes += info.size;
      } else if (info.isSymbolicLink()) {
        const linkTarget = await symlinkTargetInside(root, realRoot, rel, abs);
        entries.push({ path: inImage(rel), type: "symlink", mode: 0o777, ...owner, linkTarget });
      } else {
        throw new LayerError(`${abs} is a socket, FIFO or device file; layers built from a folder hold only files, folders and symlinks`, {
          hint: "remove it, or leave it out with the filter option",
        });
      }
    }
  };
  await walk("");
  return { entries, fileCount, fileBytes };
}

async function symlinkTargetInside(root: string, realRoot: string, rel: string, abs: string): Promise<string> {
  const target = await readlink(abs);
  const refuse = (why: string) =>
    new LayerError(`symlink ${JSON.stringify(rel)} in ${root} points to ${JSON.stringify(target)}, ${why}`, {
      hint: "symlinks in a layer built from a folder must stay inside it: copy the target in, or leave the link out with the filter option",
    });
  let linkTarget = target;
  if (posix.isAbsolute(target) || /^[a-zA-Z]:[\\/]/.test(target)) {
    // An absolute host path is meaningless in the image; keep it only if it names something in the folder.
    const inside = relativeNative(root, resolve(target));
    const insideReal = relativeNative(realRoot, resolve(target));
    const relToRoot = staysInside(inside.split(sep).join("/")) ? inside : staysInside(insideReal.split(sep).join("/")) ? insideReal : undefined;
    if (relToRoot === undefined) throw refuse("outside the folder");
    linkTarget = posix.relative(posix.dirname(`/${rel}`), `/${relToRoot.split(sep).join("/")}`) || ".";
  }
  const lexical = posix.normalize(posix.join(posix.dirname(rel), linkTarget));
  if (!staysInside(lexical)) throw refuse("outside the folder");
  // Through other symlinks a target can leave the folder although its text stays inside: follow it step by step.
  const from = posix.dirname(rel) === "." ? [] : posix.dirname(rel).split("/");
  if ((await resolveWithin(root, from, linkTarget, { absolute: "escape" })) === undefined) {
    throw refuse("which leads outside the folder through another symlink");
  }
  return linkTarget;
}

/** A layer holding the folder `dir` at `prefix`: deterministic whatever the folder's mtimes, umask or listing order. */
export async function layerFromDirectory(dir: string, options: DirectoryLayerOptions = {}): Promise<DirectoryLayer> {
  const { entries, fileCount, fileBytes } = await directoryEntries(dir, options);
  const layer = await buildLayer(entries, options);
  return { ...layer, fileCount, fileBytes };
}

