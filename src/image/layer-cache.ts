import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import * as z from "../_internal/zod-mini.js";
import { cacheWarning, defaultCacheDir, isCacheFault } from "../_internal/cache-dir.js";
import { writeFileAtomic } from "../_internal/fs.js";
import { sha256DigestSchema, type Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { fileLayer, type BuildLayerOptions, type Layer, type LayerEntry } from "./layer.js";
import { buildLayer, resolveBuildOptions } from "./layer-writer.js";
import { hostTagOf, removeStaleTempDirs } from "../_internal/temp-dirs.js";

const infoSchema = z.strictObject({
  digest: sha256DigestSchema,
  diffId: sha256DigestSchema,
  size: z.number().check(z.int(), z.nonnegative()),
  mediaType: z.string(),
});

/**
 * Built layers kept on disk, keyed by their inputs, so an unchanged layer (a dependency tree, the
 * host's Node.js runtime) is reused without reading, tarring and gzipping it again.
 *
 * `layers/<key>.json` records a layer's digests; its blob is `layers/blobs/<digest hex>.tar.gz`,
 * renamed into place only once built and hashed. A record therefore only ever names a blob by its
 * content, and processes building the same key at once never write into the same file.
 */
/** Prefix of a blob being built (`building-<pid>.<host>-<key>.<random>`), renamed to its digest once done. */
const BUILDING = "building-";

export class LayerCache {
  /** Set once the folder turned out unusable: layers are then built in memory, uncached. */
  private unusable = false;

  /** `onWarning` hears, once, that the folder cannot be used (a file in its place, a full disk). */
  constructor(
    readonly dir: string = defaultCacheDir(),
    private readonly onWarning: (message: string) => void = () => undefined,
  ) {}

  /**
   * The cached layer for `key`, or a freshly built one (then cached). The build options that change
   * the bytes — the effective mtime (`SOURCE_DATE_EPOCH` when not given), compression level, media
   * type, parent owner — are resolved here and made part of the key.
   */
  async layer(key: string, entries: () => Promise<LayerEntry[]> | LayerEntry[], options: BuildLayerOptions = {}): Promise<{ layer: Layer; cached: boolean }> {
    const shape = resolveBuildOptions(options);
    const resolved: BuildLayerOptions = { ...options, ...shape };
    const fullKey = JSON.stringify({ key, mtime: shape.mtime, compressionLevel: shape.compressionLevel, mediaType: shape.mediaType, parentOwner: shape.parentOwner });
    const id = sha256(fullKey).slice("sha256:".length);
    const uncached = async () => ({ layer: await buildLayer(await entries(), resolved), cached: false });
    if (this.unusable) return uncached();
    const record = join(this.dir, "layers", `${id}.json`);
    const cached = await this.read(record);
    if (cached) return { layer: cached, cached: true };

    const blobs = join(this.dir, "layers", "blobs");
    // Named after this process, so that the next run removes what a killed one was building.
    const temporary = join(blobs, `${BUILDING}${process.pid}.${hostTagOf()}-${id}.${randomBytes(6).toString("hex")}`);
    try {
      await mkdir(blobs, { recursive: true });
      this.swept ??= removeStaleTempDirs(blobs, BUILDING);
      await this.swept;
      const built = await buildLayer(await entries(), { ...resolved, output: { file: temporary } });
      const info = { digest: built.digest, diffId: built.diffId, size: built.size, mediaType: built.mediaType };
      await rename(temporary, this.blobPath(built.digest));
      await writeFileAtomic(record, JSON.stringify(info));
      return { layer: this.cachedLayer(info), cached: false };
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined); // (ENOTDIR when the folder is a file)
      if (!isCacheFault(error, this.dir)) throw error;
      // A cache only makes builds faster: say so once, and build without it from now on.
      this.unusable = true;
      const warning = cacheWarning(this.dir, error);
      if (warning) this.onWarning(warning);
      return uncached();
    }
  }

  private swept: Promise<unknown> | undefined;

  private blobPath(digest: string): string {
    return join(this.dir, "layers", "blobs", `${digest.slice("sha256:".length)}.tar.gz`);
  }

  private cachedLayer(info: z.infer<typeof infoSchema>): Layer {
    return fileLayer(this.blobPath(info.digest), { ...info, digest: info.digest as Sha256Digest, diffId: info.diffId as Sha256Digest });
  }

  private async read(record: string): Promise<Layer | undefined> {
    try {
      const info = infoSchema.parse(JSON.parse(await readFile(record, "utf8")));
      const blob = await stat(this.blobPath(info.digest));
      if (!blob.isFile() || blob.size !== info.size) return undefined;
      return this.cachedLayer(info);
    } catch {
      return undefined;
    }
  }
}

