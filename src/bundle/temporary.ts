import { existsSync, rmSync } from "node:fs";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { defaultCacheDir } from "../_internal/cache-dir.js";
import { fileSystemError, onPath } from "../_internal/fs-errors.js";
import { importModule, importScript } from "../_internal/import-module.js";
import { makeOwnedTempDir } from "../_internal/temp-dirs.js";
import type { Bundle } from "./bundle.js";
import { sha256 } from "../oci/compute-digest.js";
import { BUNDLE_FILE, VENDOR_FILE, withSourceMapName } from "./files.js";
import type { CachedVendorFiles } from "./vendor.js";
import { ASSETS_DIR } from "./assets.js";

/** The parts of a bundle needed to import it. */
export type LoadableBundle = Pick<Bundle, "code" | "projectRoot"> & Partial<Pick<Bundle, "entry">> & {
  map?: Buffer;
  vendor?: Pick<NonNullable<Bundle["vendor"]>, "code" | "map" | "digest">;
  /** The folder the bundle's `assets/` stands for (default: projectRoot, where the files are; see assets.ts). */
  assetsRoot?: string;
};

/**
 * Imports a bundle and returns its module namespace. The bundle is written to a fresh private
 * folder (mkdtemp) under the project's `node_modules/.cache/flowpack`, so that its external
 * packages resolve as they do in the project; without a project (no package.json) under the
 * per-user cache folder instead. The folder is removed once the import has completed (the module
 * stays loaded).
 */
export async function importBundle(bundle: LoadableBundle, options: { keepUntilExit?: boolean } = {}): Promise<Record<string, unknown>> {
  const importer = new BundleImporter();
  if (options.keepUntilExit) {
    // The flow reads files beside its code when it runs, after the import: the folder (and its
    // `assets` link) stays until this process exits.
    try {
      return await importer.import(bundle);
    } finally {
      const dir = await importer.folder();
      if (dir) process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    }
  }
  try {
    return await importer.import(bundle);
  } finally {
    await importer.close();
  }
}

/**
 * Imports bundles, one after the other, from one private folder (see importBundle) that close()
 * removes. Each bundle gets a file of its own (modules stay loaded, so a name is never reused),
 * while a vendor module is written once per digest and its bundles are placed beside it: importing
 * the next build of a flow (`flowpack package --watch`) does not evaluate its packages again.
 */
export class BundleImporter {
  private dir: Promise<string> | undefined;
  private readonly vendors = new Map<string, Promise<string>>();
  private readonly linked = new Set<string>();
  private count = 0;
  private vendorFolders = 0;

  async import(bundle: LoadableBundle): Promise<Record<string, unknown>> {
    const root = await this.root(bundle.projectRoot);
    const file = await onPath(root, TEMPORARY_ROLE, async () => {
      const folder = bundle.vendor ? await this.vendorFolder(root, bundle.vendor) : root;
      await this.linkAssets(folder, bundle.assetsRoot ?? bundle.projectRoot);
      // A private, fresh folder that is removed afterwards: plain writes, no fsync.
      const name = this.count++ === 0 ? BUNDLE_FILE : `flow-${this.count}.mjs`;
      const path = join(folder, name);
      if (bundle.map) await writeFile(`${path}.map`, bundle.map);
      await writeFile(path, name === BUNDLE_FILE ? bundle.code : withSourceMapName(bundle.code, `${name}.map`));
      return path;
    });
    // Errors name the user's entry file (the temporary file is gone by the time anyone reads them).
    return importScript(file, bundle.entry === undefined ? file : entryLabel(bundle.projectRoot, bundle.entry));
  }

  /**
   * Copies a cached vendor module to its folder (its bytes checked against the digests first) and
   * loads it (its packages initialise only when a bundle first uses them), ahead of the bundle that
   * will import it: a bundle with the same vendor module imported next finds it loaded. A reader
   * thread calls this while esbuild bundles the code. Rejects when the files do not hold what the
   * digests say; a bundle importing that vendor module then needs its bytes (see hasVendor).
   */
  async preload(projectRoot: string, vendor: CachedVendorFiles): Promise<void> {
    const root = await this.root(projectRoot);
    const folder = await onPath(root, TEMPORARY_ROLE, () => this.vendorFolder(root, vendor));
    await importModule(pathToFileURL(join(folder, VENDOR_FILE)).href);
  }

  /** Whether the vendor module `digest` is in its folder already (a preload of it succeeded): a bundle importing it needs no bytes. */
  async hasVendor(digest: string): Promise<boolean> {
    const folder = this.vendors.get(digest);
    return folder !== undefined && (await folder.then(() => true, () => false));
  }

  /** The private folder, made by the first import or preload. */
  private root(projectRoot: string): Promise<string> {
    this.dir ??= temporaryFolder(projectRoot);
    return this.dir;
  }

  /** The private folder, once one was made. */
  async folder(): Promise<string | undefined> {
    return this.dir ? await this.dir.catch(() => undefined) : undefined;
  }

  /**
   * `assets` beside the bundle is the project's folder itself (a symbolic link): the bundle's modules
   * find the files beside their code where they are (see assets.ts), as they will in an image.
   */
  private async linkAssets(folder: string, projectRoot: string): Promise<void> {
    if (this.linked.has(folder) || !existsSync(projectRoot)) return;
    this.linked.add(folder);
    await symlink(projectRoot, join(folder, ASSETS_DIR), "dir");
  }

  /** The folder holding vendor module `vendor.digest`, made (from its bytes, or its cached files) on first use. */
  private vendorFolder(root: string, vendor: NonNullable<LoadableBundle["vendor"]> | CachedVendorFiles): Promise<string> {
    let folder = this.vendors.get(vendor.digest);
    if (!folder) {
      const made = (async () => {
        const dir = join(root, `vendor-${this.vendorFolders++}`);
        const [code, map] = typeof vendor.code === "string" ? await readCachedVendor(vendor as CachedVendorFiles) : [vendor.code, vendor.map];
        await mkdir(dir);
        await Promise.all([writeFile(join(dir, VENDOR_FILE), code), writeFile(join(dir, `${VENDOR_FILE}.map`), map)]);
        return dir;
      })();
      // A folder that could not be made is made again by the next import that brings the bytes.
      made.catch(() => this.vendors.get(vendor.digest) === made && this.vendors.delete(vendor.digest));
      folder = made;
      this.vendors.set(vendor.digest, folder);
    }
    return folder;
  }

  async close(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    this.vendors.clear();
    this.linked.clear();
    if (dir) await rm(await dir, { recursive: true, force: true });
  }
}

/** A cached vendor module's bytes, checked against its digests (the cache may have changed since its record was read). */
async function readCachedVendor(files: CachedVendorFiles): Promise<[Buffer, Buffer]> {
  const [code, map] = await Promise.all([readFile(files.code), readFile(files.map)]);
  if (sha256(code) !== files.digest || sha256(map) !== files.mapDigest) throw new Error(`the cached vendor module ${files.code} does not match its record`);
  return [code, map];
}

/** The entry as the user would name it: relative to the working directory when it lies below it. */
export function entryLabel(projectRoot: string, entry: string): string {
  const absolute = join(projectRoot, entry);
  const relativePath = relative(process.cwd(), absolute);
  return relativePath && !relativePath.startsWith("..") && !isAbsolute(relativePath) ? relativePath : absolute;
}

const TEMPORARY_ROLE = { action: "write the bundle into its temporary folder", owner: "flowpack", hint: "free some space in the project's node_modules/.cache" } as const;

/**
 * `bundle-<pid>.<host>-XXXXXX` under the first base that works; folders of runs that were killed
 * (their pid is gone) are removed first, so a kill -9 leaves nothing behind for good.
 */
async function temporaryFolder(projectRoot: string): Promise<string> {
  const bases = [join(defaultCacheDir(), "bundles")];
  if (existsSync(join(projectRoot, "package.json"))) bases.unshift(join(projectRoot, "node_modules", ".cache", "flowpack"));
  let failure: unknown;
  for (const base of bases) {
    try {
      await mkdir(base, { recursive: true });
      return await makeOwnedTempDir(base, "bundle-");
    } catch (error) {
      failure ??= error; // not writable: try the next place
    }
  }
  throw fileSystemError(failure, bases[0]!, { action: "make a temporary folder for the bundle", owner: "flowpack", hint: `tried ${bases.join(", ")}` });
}
