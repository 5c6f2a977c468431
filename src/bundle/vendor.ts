import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type * as esbuild from "esbuild";
import { esbuildApi } from "./esbuild.js";
import * as z from "../_internal/zod-mini.js";
import { isSha256Digest, type Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { cacheWarning, isCacheFault } from "../_internal/cache-dir.js";
import { writeFileAtomic } from "../_internal/fs.js";
import { pruneOldest } from "../_internal/prune.js";
import { FLOWPACK_VERSION } from "../_internal/version.js";
import { VENDOR_FILE } from "./files.js";

/**
 * Vendoring: the npm packages a flow imports, bundled once into their own module beside the flow's
 * bundle, and reused from a cache for as long as none of their files change. A code-only change
 * then re-bundles only the project's own files (milliseconds, not the ~0.2 s esbuild spends
 * parsing a package like zod every time), and in an image the vendor module sits in a layer of its
 * own that such a change leaves alone.
 *
 * How the two modules meet: the flow's bundle imports `packages` from the vendor module, a table
 * from a vendored module's id (its path relative to the project) to a function that initialises
 * the module on first call and returns it. Each import of a vendored module in the flow's code is
 * replaced by a small facade that calls that function. Facades are CommonJS for CommonJS modules
 * and ES modules for ES modules, so esbuild applies exactly the interop (default imports, named
 * imports, namespaces) it would have applied had the package been bundled in place, and modules
 * are initialised in the order the flow imports them.
 */

/** File name of the vendor module, beside the flow's bundle (its map beside it). */
export { VENDOR_FILE };

/** The name the flow's bundle gives the vendor table. */
export const VENDOR_BINDING = "__flowpackVendor";

/** The import line added to the flow bundle's banner when it has vendored modules. */
export const VENDOR_IMPORT = `import { packages as ${VENDOR_BINDING} } from "./${VENDOR_FILE}";`;

/** How esbuild saw a vendored module: its facade follows suit. */
export type ModuleFormat = "esm" | "cjs";

export interface VendorModule {
  code: Buffer;
  map: Buffer;
  digest: Sha256Digest;
  /** sha256 of `map`. */
  mapDigest: Sha256Digest;
  /** Vendored module id → its format. */
  formats: Record<string, ModuleFormat>;
  /** Whether it came from the cache. */
  cached: boolean;
}

/** Where a cached vendor module lies, and the digests its bytes must have (a reader checks them). */
export interface CachedVendorFiles {
  digest: Sha256Digest;
  mapDigest: Sha256Digest;
  /** The module's file and its map's, in the cache. */
  code: string;
  map: string;
}

/**
 * A cached vendor module as soon as its record is read: enough to start bundling against it
 * (`formats`) and to hand its files to another reader, while its bytes are read and checked
 * (`load`) and its inputs are checked (`unchanged`). It counts only once both say yes.
 */
export interface VendorCandidate<T> {
  formats: Record<string, ModuleFormat>;
  files: CachedVendorFiles;
  /** The module, its bytes checked against the record; undefined when they do not match (or cannot be read). */
  load(): Promise<(VendorModule & { extra: T }) | undefined>;
  /** Whether every input still has the size and mtime recorded (stat only). */
  unchanged(): boolean;
}

/** esbuild's output for the vendor entry: the module, its map, and what it read (the cache records the inputs). */
export interface VendorBuildOutput {
  code: Uint8Array;
  map: Uint8Array;
  metafile: esbuild.Metafile;
}

/** The files an esbuild pass read from disk (not the virtual modules of a plugin namespace), relative to its working folder. */
export function fileInputs(metafile: esbuild.Metafile): string[] {
  return Object.keys(metafile.inputs).filter((path) => !/^[a-z-]+:/.test(path));
}

/**
 * The facade that stands for vendored module `id` in the flow's bundle. A CommonJS module is its
 * initialiser; an ES module re-exports everything from its initialiser (resolved as `id` again, in
 * the initialisers' namespace), which esbuild turns into property reads on the initialised module.
 */
export function facadeSource(id: string, format: ModuleFormat): string {
  if (format === "esm") return `export * from ${JSON.stringify(id)};\nexport { default } from ${JSON.stringify(id)};\n`;
  return initialiserSource(id);
}

/** A CommonJS module whose exports are vendored module `id`, initialised on first require. */
export function initialiserSource(id: string): string {
  return `module.exports = ${VENDOR_BINDING}[${JSON.stringify(id)}]();\n`;
}

/** The vendor module's entry: one lazy initialiser per vendored module. */
export function vendorEntrySource(ids: readonly string[]): string {
  const lines = ids.map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(id.startsWith(".") ? id : `./${id}`)}),`);
  return `export const packages = {\n${lines.join("\n")}\n};\n`;
}

const recordSchema = z.strictObject({
  version: z.literal(1),
  code: z.string().check(z.refine(isSha256Digest)),
  map: z.string().check(z.refine(isSha256Digest)),
  formats: z.record(z.string(), z.enum(["esm", "cjs"])),
  /** Every file the vendor module was built from: path relative to the project, size, mtime. */
  inputs: z.array(z.tuple([z.string(), z.number(), z.number()])),
  /** What the build reported besides the module, returned again on a cache hit. */
  extra: z.unknown(),
});
type VendorRecord = z.infer<typeof recordSchema>;

/** How many vendor modules the cache keeps (each is one project's set of packages at one time), and entries. */
const KEEP_MODULES = 16;
const KEEP_ENTRIES = 256;

const idsSchema = z.strictObject({ ids: z.array(z.string()) });

/** Records this process has read and whose module bytes matched them, by folder (and the record's mtime). */
const verified = new Map<string, { written: number; record: VendorRecord; code: Buffer; map: Buffer }>();

/**
 * Vendor modules on disk: `modules/<key>/` holds a module, its map and a record of the inputs it
 * was built from. A record is only trusted when every input still has the size and mtime it had
 * (stat only, nothing is read), and the module's bytes match the digests it records.
 * `entries/<key>.json` remembers which modules an entry's last build vendored.
 */
export class VendorCache {
  /** What went wrong with the folder, once per process (see cacheWarning): the bundle's warnings carry it. */
  readonly warnings: string[] = [];

  constructor(readonly dir: string) {}

  /** A write failed: only slower next time, but an unusable folder is worth one warning. */
  private failed(error: unknown): void {
    if (!isCacheFault(error, this.dir)) return;
    const warning = cacheWarning(dirname(this.dir), error);
    if (warning) this.warnings.push(warning);
  }

  /** The vendored module ids of this entry's last build, if any. */
  async lastIds(entry: unknown): Promise<string[] | undefined> {
    try {
      return idsSchema.parse(JSON.parse(await readFile(join(this.dir, "entries", `${keyOf(entry)}.json`), "utf8"))).ids;
    } catch {
      return undefined;
    }
  }

  async rememberIds(entry: unknown, ids: readonly string[]): Promise<void> {
    try {
      await mkdir(join(this.dir, "entries"), { recursive: true });
      await writeFileAtomic(join(this.dir, "entries", `${keyOf(entry)}.json`), JSON.stringify({ ids }));
      await pruneOldest(join(this.dir, "entries"), KEEP_ENTRIES);
    } catch (error) {
      this.failed(error); // only slower next time
    }
  }

  /**
   * The vendor module for `ids` in `projectRoot`: from the cache when its inputs are unchanged,
   * else from `build` (then cached). `extra` is whatever the build wants back on a cache hit.
   */
  async get<T>(
    key: { projectRoot: string; ids: readonly string[]; settings: unknown },
    build: () => Promise<VendorBuildOutput & { extra: T }>,
  ): Promise<VendorModule & { extra: T }> {
    const hit = await this.peek<T>(key);
    const cached = hit?.unchanged() ? await hit.load() : undefined;
    if (cached) return cached;
    const built = await build();
    const code = Buffer.from(built.code);
    const map = Buffer.from(built.map);
    const formats: Record<string, ModuleFormat> = {};
    for (const id of key.ids) formats[id] = built.metafile.inputs[id]?.format === "esm" ? "esm" : "cjs";
    const record: VendorRecord = {
      version: 1,
      code: sha256(code),
      map: sha256(map),
      formats,
      inputs: inputsOf(built.metafile, key.projectRoot),
      extra: built.extra,
    };
    await this.write(this.folder(key), record, code, map).catch((error: unknown) => this.failed(error)); // a cache that cannot be written is only slower
    return moduleOf<T>({ record, code, map }, false);
  }

  /**
   * The cached vendor module for `ids` once its record is read (see VendorCandidate): its bytes
   * are read and checked by `load()`, its inputs by `unchanged()`, so a caller may start using
   * the module (esbuild bundling against it) first, and drop the result if either says no.
   */
  async peek<T>(key: { projectRoot: string; ids: readonly string[]; settings: unknown }): Promise<VendorCandidate<T> | undefined> {
    const folder = this.folder(key);
    const recordFile = join(folder, "record.json");
    let record: VendorRecord;
    let written: number;
    try {
      written = statSync(recordFile).mtimeMs;
      // This process read and checked this very record before (a --watch session): only the
      // inputs need checking again.
      const known = verified.get(folder);
      record = known?.written === written ? known.record : recordSchema.parse(JSON.parse(await readFile(recordFile, "utf8")));
    } catch {
      return undefined; // missing, unreadable or malformed: build again
    }
    let loading: Promise<(VendorModule & { extra: T }) | undefined> | undefined;
    return {
      formats: record.formats,
      files: { digest: record.code as Sha256Digest, mapDigest: record.map as Sha256Digest, code: join(folder, VENDOR_FILE), map: join(folder, `${VENDOR_FILE}.map`) },
      load: () => (loading ??= this.load<T>(folder, written, record)),
      unchanged: () => inputsUnchanged(record.inputs, key.projectRoot),
    };
  }

  private folder(key: { projectRoot: string; ids: readonly string[]; settings: unknown }): string {
    return join(this.dir, "modules", keyOf(key));
  }

  /** The module's bytes, checked against its record (once per process and record: see `verified`). */
  private async load<T>(folder: string, written: number, record: VendorRecord): Promise<(VendorModule & { extra: T }) | undefined> {
    let entry = verified.get(folder);
    if (entry?.written !== written) {
      try {
        const [code, map] = await Promise.all([readFile(join(folder, VENDOR_FILE)), readFile(join(folder, `${VENDOR_FILE}.map`))]);
        if (sha256(code) !== record.code || sha256(map) !== record.map) return undefined;
        entry = { written, record, code, map };
        verified.set(folder, entry);
      } catch {
        return undefined; // missing or unreadable: build again
      }
    }
    return moduleOf<T>(entry, true);
  }

  private async write(folder: string, record: VendorRecord, code: Buffer, map: Buffer): Promise<void> {
    try {
      await mkdir(folder, { recursive: true });
      await writeFileAtomic(join(folder, VENDOR_FILE), code);
      await writeFileAtomic(join(folder, `${VENDOR_FILE}.map`), map);
      await writeFileAtomic(join(folder, "record.json"), JSON.stringify(record)); // last: it vouches for the files
    } catch (error) {
      await rm(folder, { recursive: true, force: true }).catch(() => undefined); // no half-written entry stays
      throw error;
    }
    const modules = join(this.dir, "modules");
    await pruneOldest(modules, KEEP_MODULES, (name) => join(modules, name, "record.json"));
  }
}

function moduleOf<T>({ record, code, map }: { record: VendorRecord; code: Buffer; map: Buffer }, cached: boolean): VendorModule & { extra: T } {
  return { code, map, digest: record.code as Sha256Digest, mapDigest: record.map as Sha256Digest, formats: record.formats, cached, extra: record.extra as T };
}

/**
 * Whether every input still has the size and mtime recorded (stat only). Synchronous on purpose:
 * a vendor module of a thousand-odd files is checked in ~15 ms this way, where as many promises
 * cost several times that in callbacks on the main thread.
 */
function inputsUnchanged(inputs: readonly (readonly [string, number, number])[], projectRoot: string): boolean {
  for (const [path, size, mtimeMs] of inputs) {
    const info = statSync(resolve(projectRoot, path), { throwIfNoEntry: false });
    if (!info || info.size !== size || info.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

function keyOf(key: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify({ v: 2, flowpack: FLOWPACK_VERSION, esbuild: esbuildApi.version, key }))
    .digest("hex")
    .slice(0, 32);
}

/** The files a build read (those in the file namespace), with their size and mtime now. */
function inputsOf(metafile: esbuild.Metafile, projectRoot: string): [string, number, number][] {
  return fileInputs(metafile)
    .filter((path) => path !== VENDOR_FILE) // not the generated entry
    .sort()
    .map((path) => {
      const info = statSync(resolve(projectRoot, path));
      return [path, info.size, info.mtimeMs];
    });
}
