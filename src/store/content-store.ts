import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../_internal/fs.js";
import { isSha256Digest, type Sha256Digest } from "../oci/digest.js";
import { sha256 } from "../oci/compute-digest.js";
import { StoreError } from "../errors.js";

/**
 * A folder of immutable objects named by the sha256 of their bytes (`<root>/sha256/<hex>`).
 * Writes are atomic (temp file, fsync, rename); reads verify the hash.
 */
export class ContentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  pathOf(key: string): string {
    return join(this.root, "sha256", hexOf(key));
  }

  async put(bytes: Uint8Array): Promise<Sha256Digest> {
    const [key] = await this.putAll([bytes]);
    return key!;
  }

  /**
   * Puts several objects, all or none: when one cannot be written (a full disk), the objects this
   * call added and the folders it created are removed again before the error is thrown.
   */
  async putAll(objects: readonly Uint8Array[]): Promise<Sha256Digest[]> {
    const created = await mkdir(join(this.root, "sha256"), { recursive: true });
    const added: Sha256Digest[] = [];
    const keys: Sha256Digest[] = [];
    try {
      for (const bytes of objects) {
        const key = sha256(bytes);
        if (!(await this.has(key))) {
          await writeFileAtomic(this.pathOf(key), bytes);
          added.push(key);
        }
        keys.push(key);
      }
      return keys;
    } catch (error) {
      if (created !== undefined) await rm(created, { recursive: true, force: true });
      else for (const key of added) await rm(this.pathOf(key), { force: true });
      throw error;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile();
    } catch {
      return false;
    }
  }

  /** The object's bytes, verified against its key. */
  async get(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      throw new StoreError(`object ${key} is missing from the store ${this.root}`, {
        hint: "package the flow again, or point --store at the store it was packaged into",
      });
    }
    const actual = sha256(bytes);
    if (actual !== key) {
      throw new StoreError(`object ${key} in the store ${this.root} is corrupted (its content hashes to ${actual})`, {
        hint: "delete the object and package the flow again",
      });
    }
    return bytes;
  }
}

function hexOf(key: string): string {
  if (!isSha256Digest(key)) throw new StoreError(`invalid object key ${JSON.stringify(key)}`);
  return key.slice("sha256:".length);
}
