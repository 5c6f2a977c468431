import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTagOf } from "../../src/_internal/temp-dirs.js";
import { flowpack, type CliResult } from "../helpers/cli.js";
import { example } from "../helpers/paths.js";
import { services } from "../helpers/services.js";

// Bad paths and full disks, through the real CLI: each case must end with its exit code, one line
// naming the path (no "internal error", no stack) and nothing left behind (no *.tmp, no partial
// output, no temporary folders).

const work = mkdtempSync(join(tmpdir(), "flowpack-fs-faults-"));
const hello = example("hello", "flow.ts");
const env: NodeJS.ProcessEnv = { FLOWPACK_CACHE_DIR: join(work, "cache"), DOCKER_CONFIG: join(work, "no-docker-config") };
afterAll(() => rmSync(work, { recursive: true, force: true })); // after the disks are unmounted (their describe's afterAll)
const oci = () => ["--packager", "docker", "--builder", "oci", "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`, "-q"];

/** Files and folders under `dir` that a failed or finished command must not leave behind. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const name = entry.name;
    if (/\.(tmp|building)$/.test(name) || /^(bundle|flowpack-run|building)-/.test(name)) found.push(relative(dir, join(entry.parentPath, name)));
  }
  return found;
}

/** Exit code, then a one-line error naming `path` with its hint; no internal error, no stack trace. */
function expectFault(r: CliResult, code: number, message: string, path: string): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split("\n");
  const error = lines.filter((line) => line.startsWith("flowpack: error: "));
  expect(error, r.stderr).toHaveLength(1);
  expect(error[0]).toContain(message);
  expect(error[0]).toContain(path);
  expect(lines.filter((line) => line.startsWith("  hint: "))).toHaveLength(1);
  expect(r.stderr).not.toContain("internal error");
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe("bad paths: a clear error before any work, nothing left behind", () => {
  const aFile = join(work, "a-file");
  const aDir = join(work, "a-dir");
  beforeAll(() => {
    writeFileSync(aFile, "not a folder");
    mkdirSync(aDir);
  });

  const cases: { name: string; args: () => string[]; exit: number; message: string; path: () => string; untouched?: () => string }[] = [
    {
      name: "--oci-layout naming a file",
      args: () => [hello, ...oci(), "--oci-layout", aFile],
      exit: 2,
      message: "cannot write the OCI layout at",
      path: () => `${aFile}: not a directory (ENOTDIR)`,
    },
    {
      name: "--oci-layout below a file",
      args: () => [hello, ...oci(), "--oci-layout", join(aFile, "layout")],
      exit: 2,
      message: "cannot write the OCI layout at",
      path: () => `${join(aFile, "layout")}: not a directory (ENOTDIR)`,
    },
    {
      name: "--oci-layout with a name too long",
      args: () => [hello, ...oci(), "--oci-layout", join(work, "x".repeat(300))],
      exit: 2,
      message: "name too long (ENAMETOOLONG)",
      path: () => join(work, "x".repeat(300)),
    },
    {
      name: "--docker-archive naming a folder",
      args: () => [hello, ...oci(), "--docker-archive", aDir],
      exit: 2,
      message: "cannot write the docker archive at",
      path: () => `${aDir}: is a directory (EISDIR)`,
    },
    {
      name: "--docker-archive below a file",
      args: () => [hello, ...oci(), "--docker-archive", join(aFile, "image.tar")],
      exit: 2,
      message: "cannot write the docker archive at",
      path: () => `${join(aFile, "image.tar")}: not a directory (ENOTDIR)`,
    },
    {
      name: "--output below a file, checked before the image is written",
      args: () => [hello, ...oci(), "--oci-layout", join(work, "never-written"), "--output", join(aFile, "m.json")],
      exit: 2,
      message: "cannot write the manifest at",
      path: () => `${join(aFile, "m.json")}: not a directory (ENOTDIR)`,
      untouched: () => join(work, "never-written"),
    },
    {
      name: "--output naming a folder",
      args: () => [hello, "--store", join(work, "store-unused"), "--output", aDir],
      exit: 2,
      message: "cannot write the manifest at",
      path: () => `${aDir}: is a directory (EISDIR)`,
      untouched: () => join(work, "store-unused"),
    },
    {
      name: "--store naming a file",
      args: () => [hello, "--store", aFile],
      exit: 2,
      message: "cannot write to the store at",
      path: () => `${aFile}: not a directory (ENOTDIR)`,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const r = await flowpack(["package", ...c.args()], { env });
      expectFault(r, c.exit, c.message, c.path());
      expect(readFileSync(aFile, "utf8")).toBe("not a folder");
      expect(readdirSync(aDir)).toEqual([]);
      if (c.untouched) expect(existsSync(c.untouched())).toBe(false);
      expect(leftovers(work)).toEqual([]);
    });
  }

  it("FLOWPACK_CACHE_DIR naming a file: one warning line, and packaging succeeds without the cache", async () => {
    const layout = join(work, "layout-no-cache");
    const r = await flowpack(["package", hello, ...oci().filter((a) => a !== "-q"), "--oci-layout", layout], { env: { ...env, FLOWPACK_CACHE_DIR: aFile } });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split("\n").filter((line) => line.includes("cache folder"));
    expect(warnings).toEqual([
      `warning: cannot use the cache folder at ${aFile}: not a directory (ENOTDIR); going on without it (slower). Point FLOWPACK_CACHE_DIR at a writable folder with free space`,
    ]);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "docker", flowName: "hello" });
    expect(readFileSync(aFile, "utf8")).toBe("not a folder");
  });
});

// ── full disks: small tmpfs mounts (root only) ─────────────────────────────────────────────────

const mounts: string[] = [];
const mountProbe = (() => {
  const probe = mkdtempSync(join(tmpdir(), "flowpack-fs-probe-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]);
  if (r.status !== 0) return `mount -t tmpfs is not permitted here (${(r.stderr?.toString() || r.error?.message || "").trim()})`;
  spawnSync("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
  return undefined;
})();
if (mountProbe) console.warn(`fs-faults: skipping the full-disk cases: ${mountProbe}`);

/** A fresh 2 MiB tmpfs; `full` fills it up to the last byte first. */
function smallDisk(name: string, options: { full?: boolean; readOnly?: boolean } = {}): string {
  const dir = join(work, name);
  mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=2m${options.readOnly ? ",ro" : ""}`, "tmpfs", dir]);
  mounts.push(dir);
  if (options.full) spawnSync("dd", ["if=/dev/zero", `of=${join(dir, "filler")}`, "bs=64k"], { stdio: "ignore" });
  return dir;
}

/** What is on a test disk besides the filler. */
const contents = (dir: string) => readdirSync(dir).filter((name) => name !== "filler");

describe.skipIf(mountProbe !== undefined)("full disks (2 MiB tmpfs): exit 3 naming the path, nothing left behind", () => {
  afterAll(() => {
    for (const dir of mounts) spawnSync("umount", [dir]);
  });

  it("--oci-layout on a disk too small for the image", async () => {
    const disk = smallDisk("disk-layout");
    const layout = join(disk, "layout");
    const r = await flowpack(["package", hello, ...oci(), "--oci-layout", layout], { env });
    expectFault(r, 3, "cannot write the OCI layout at", `${layout}: no space left on the device (ENOSPC)`);
    expect(contents(disk)).toEqual([]);
  });

  it("--oci-layout into an existing layout on a full disk keeps the layout as it was", async () => {
    const disk = smallDisk("disk-layout-existing");
    const layout = join(disk, "layout");
    mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(layout, "index.json"), '{"schemaVersion":2,"manifests":[]}');
    spawnSync("dd", ["if=/dev/zero", `of=${join(disk, "filler")}`, "bs=64k"], { stdio: "ignore" });
    const r = await flowpack(["package", hello, ...oci(), "--oci-layout", layout], { env });
    expectFault(r, 3, "cannot write the OCI layout at", `${layout}: no space left on the device (ENOSPC)`);
    expect(readdirSync(join(layout, "blobs", "sha256"))).toEqual([]);
    expect(readFileSync(join(layout, "index.json"), "utf8")).toBe('{"schemaVersion":2,"manifests":[]}');
  });

  it("--oci-layout on a read-only file system", async () => {
    const disk = smallDisk("disk-readonly", { readOnly: true });
    const layout = join(disk, "layout");
    const r = await flowpack(["package", hello, ...oci(), "--oci-layout", layout], { env });
    expectFault(r, 3, "cannot write the OCI layout at", `${layout}: read-only file system (EROFS)`);
  });

  it("--docker-archive on a disk too small for the archive", async () => {
    const disk = smallDisk("disk-archive");
    const archive = join(disk, "image.tar");
    const r = await flowpack(["package", hello, ...oci(), "--docker-archive", archive], { env });
    expectFault(r, 3, "cannot write the docker archive at", `${archive}: no space left on the device (ENOSPC)`);
    expect(contents(disk)).toEqual([]);
  });

  it("--store on a full disk", async () => {
    const disk = smallDisk("disk-store", { full: true });
    const store = join(disk, "store");
    const manifest = join(work, "store-manifest.json");
    const r = await flowpack(["package", hello, "--store", store, "--output", manifest], { env });
    expectFault(r, 3, "cannot write to the store at", `${store}: no space left on the device (ENOSPC)`);
    expect(contents(disk)).toEqual([]);
    expect(existsSync(manifest)).toBe(false);
  });

  it("the cache on a full disk: one warning, packaging succeeds, no temporary left in the cache", async () => {
    const disk = smallDisk("disk-cache", { full: true });
    const cache = join(disk, "cache");
    const layout = join(work, "layout-full-cache");
    const r = await flowpack(["package", hello, ...oci().filter((a) => a !== "-q"), "--oci-layout", layout], { env: { ...env, FLOWPACK_CACHE_DIR: cache } });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split("\n").filter((line) => line.includes("cache folder"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`cannot use the cache folder at ${cache}: no space left on the device (ENOSPC); going on without it`);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "docker", flowName: "hello" });
    expect(leftovers(disk)).toEqual([]);
  });

  it("flowpack run of a layout manifest with TMPDIR on a full disk", async () => {
    const layout = join(work, "layout-for-run");
    const manifest = join(work, "layout-run.json");
    const packaged = await flowpack(["package", hello, ...oci(), "--oci-layout", layout, "--output", manifest], { env });
    expect(packaged.code, packaged.stderr).toBe(0);
    const disk = smallDisk("disk-tmp", { full: true });
    const r = await flowpack(["run", manifest, "-p", "name=disk"], { env: { ...env, TMPDIR: disk } });
    expectFault(r, 3, "cannot extract the flow into a temporary folder at", `${disk}/flowpack-run-`);
    expect(r.stderr).toContain("no space left on the device (ENOSPC)");
    expect(contents(disk)).toEqual([]);
    // and with room, the same manifest runs
    const ok = await flowpack(["run", manifest, "-p", "name=disk"], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ greeting: "Hello, disk!" });
  });
});

// ── temporary folders of killed runs ───────────────────────────────────────────────────────────

describe("temporary folders of killed runs are removed by the next run; a live run's are not", () => {
  /** A pid that existed and is gone now. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    return Number(child.stdout.toString());
  }

  function plant(base: string, name: string, ageMs = 0): string {
    const dir = join(base, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "flow.mjs"), "export {};\n");
    if (ageMs > 0) {
      const then = (Date.now() - ageMs) / 1000;
      utimesSync(dir, then, then);
    }
    return dir;
  }

  it("bundle-* under the project's node_modules/.cache/flowpack", async () => {
    const project = join(work, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "stale-project", private: true, type: "module" }));
    writeFileSync(join(project, "flow.ts"), 'import { flow } from "flowpack";\nexport const hi = flow(async function hi() { return { hi: 1 }; });\n');
    const cache = join(project, "node_modules", ".cache", "flowpack");
    const dead = plant(cache, `bundle-${deadPid()}.${hostTagOf()}-aaaaaa`);
    const live = plant(cache, `bundle-${process.pid}.${hostTagOf()}-bbbbbb`); // this test runner: alive
    const otherHost = plant(cache, `bundle-${deadPid()}.00000000-cccccc`); // cannot be checked: young, kept
    const oldUnowned = plant(cache, "bundle-dddddd", 2 * 24 * 3600 * 1000); // an older flowpack's, two days old
    const youngUnowned = plant(cache, "bundle-eeeeee");

    const r = await flowpack(["package", join(project, "flow.ts"), "--store", join(work, "stale-store")], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(oldUnowned)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(otherHost)).toBe(true);
    expect(existsSync(youngUnowned)).toBe(true);
    expect(readdirSync(cache).sort()).toEqual([live, otherHost, youngUnowned].map((d) => relative(cache, d)).sort()); // its own folder is gone too
  });

  it("flowpack-run-* in TMPDIR", async () => {
    const layout = join(work, "layout-for-stale-run");
    const manifest = join(work, "layout-stale-run.json");
    const packaged = await flowpack(["package", hello, ...oci(), "--oci-layout", layout, "--output", manifest], { env });
    expect(packaged.code, packaged.stderr).toBe(0);
    const temp = join(work, "tmp");
    const dead = plant(temp, `flowpack-run-${deadPid()}.${hostTagOf()}-aaaaaa`);
    const live = plant(temp, `flowpack-run-${process.pid}.${hostTagOf()}-bbbbbb`);
    const r = await flowpack(["run", manifest, "-p", "name=stale"], { env: { ...env, TMPDIR: temp } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(dead)).toBe(false);
    expect(readdirSync(temp)).toEqual([relative(temp, live)]);
  });
});
