import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, posix, resolve } from "node:path";
import { ImageFormatError } from "../errors.js";
import type { LayerCache} from "./layer-cache.js";
import { entriesKey } from "./entries-key.js";
import type { Layer, LayerEntry } from "./layer.js";
import { hostPlatform } from "../oci/platform.js";
import type { ImageConfig } from "../oci/image.js";
import type { BaseImage } from "./image.js";

const PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000::/home/node:/sbin/nologin\n";
const GROUP = "root:x:0:\nnode:x:1000:\n";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/**
 * `--base-image host`: a base made from this machine's Node.js binary and the shared libraries
 * it loads (its `ldd` closure, the dynamic loader included), plus passwd/group entries for root and
 * `node` (1000), /tmp, and the system CA bundle. For air-gapped builds: nothing is downloaded.
 * Linux only; the image's platform is this machine's.
 */
export async function hostBaseImage(cache: LayerCache, nodePath: string = process.execPath): Promise<BaseImage<Layer> & { name: string }> {
  if (process.platform !== "linux") {
    throw new ImageFormatError(`--base-image host needs Linux (this is ${process.platform})`, { hint: "use a registry base image such as node:20-bookworm-slim" });
  }
  const entries = hostRuntimeEntries(nodePath);
  const { layer } = await cache.layer(entriesKey("host-runtime", entries), () => entries);
  const platform = hostPlatform();
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: "1970-01-01T00:00:00Z",
    config: { Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + CA_BUNDLE], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: `flowpack: host Node.js ${process.version} runtime` }],
  };
  return { config, layers: [layer], name: `host (node ${process.version})` };
}

export function hostRuntimeEntries(nodePath: string): LayerEntry[] {
  const node = realpathSync(nodePath);
  const files = new Map<string, LayerEntry>();
  const addFile = (path: string, inImage = path, mode?: number) => {
    const info = statSync(path);
    files.set(inImage, { path: inImage, type: "file", mode: mode ?? (info.mode & 0o111 ? 0o755 : 0o644), content: { fromFile: path, size: info.size } });
  };
  /** A library path as the loader looks it up: keep its symlink chain, then the real file. */
  const addLibrary = (path: string) => {
    let current = path;
    for (let hops = 0; hops < 8 && lstatSync(current).isSymbolicLink(); hops++) {
      const target = readlinkSync(current);
      files.set(current, { path: current, type: "symlink", linkTarget: target });
      current = resolve(dirname(current), target);
    }
    addFile(current);
  };
  addFile(node, "/usr/local/bin/node", 0o755);
  for (const library of sharedLibraries(node)) addLibrary(library);
  if (existsSync(CA_BUNDLE)) addFile(realpathSync(CA_BUNDLE), CA_BUNDLE, 0o644);
  const extra: LayerEntry[] = [
    { path: "/etc/passwd", type: "file", mode: 0o644, content: PASSWD },
    { path: "/etc/group", type: "file", mode: 0o644, content: GROUP },
    { path: "/tmp", type: "dir", mode: 0o1777 },
    { path: "/home/node", type: "dir", mode: 0o755, uid: 1000, gid: 1000 },
  ];
  return [...files.values(), ...extra].sort((a, b) => posix.normalize(a.path).localeCompare(posix.normalize(b.path)));
}

/** Absolute paths of the shared objects `binary` loads, from ldd (the loader included). */
function sharedLibraries(binary: string): string[] {
  let output: string;
  try {
    output = execFileSync("ldd", [binary], { encoding: "utf8", timeout: 10_000 });
  } catch (error) {
    throw new ImageFormatError(`cannot list the shared libraries of ${binary} (ldd failed: ${(error as Error).message})`);
  }
  const paths = new Set<string>();
  for (const line of output.split("\n")) {
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match?.[1]) paths.add(match[1]);
  }
  return [...paths].sort();
}
