import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";

const isGzip = (bytes: Buffer) => bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
const isTar = (bytes: Buffer) => bytes.length > 262 && bytes.toString("latin1", 257, 262) === "ustar";

/**
 * Every form in which a blob, file or archive can hold a string: its bytes, gunzipped when gzip,
 * and each gzip member of a tar gunzipped (docker archives keep layers gzipped). A plain tar holds
 * its files' bytes as they are, so the tar itself covers them.
 */
export async function readableForms(bytes: Buffer): Promise<Buffer[]> {
  if (isGzip(bytes)) return readableForms(gunzipSync(bytes));
  if (!isTar(bytes)) return [bytes];
  const forms = [bytes];
  for (const member of await tarMembers(bytes)) {
    if (isGzip(member.content)) forms.push(...(await readableForms(member.content)));
  }
  return forms;
}

/** The members of a tar, in order. */
export async function tarMembers(bytes: Buffer): Promise<{ name: string; type: string; content: Buffer }[]> {
  const members: { name: string; type: string; content: Buffer }[] = [];
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on("end", () => {
      members.push({ name: header.name, type: header.type ?? "file", content: Buffer.concat(chunks) });
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on("finish", resolve);
    extract.on("error", reject);
    Readable.from([bytes]).pipe(extract);
  });
  return members;
}

/** Every regular file below `dir`. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `"<needle> in <source>"` for each needle found in any readable form of any source (read one at a time). */
export async function findIn(needles: readonly string[], sources: { name: string; read: () => Buffer }[]): Promise<string[]> {
  const found: string[] = [];
  for (const source of sources) {
    const forms = await readableForms(source.read());
    for (const needle of needles) {
      if (forms.some((form) => form.includes(needle))) found.push(`${needle} in ${source.name}`);
    }
  }
  return found;
}

/** Sources for findIn: each file below `dir`. */
export function fileSources(dir: string, label = dir): { name: string; read: () => Buffer }[] {
  return filesUnder(dir).map((file) => ({ name: `${label}:${file.slice(dir.length + 1)}`, read: () => readFileSync(file) }));
}
