import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { errnoError, fileSystemError } from "../../src/_internal/fs-errors.js";
import { checkOutputFile, checkOutputFolder } from "../../src/_internal/path-checks.js";
import { hostTagOf, makeOwnedTempDir, removeStaleTempDirs, STALE_AFTER_MS } from "../../src/_internal/temp-dirs.js";
import { FileSystemFaultError, FileSystemPathError, isFlowpackError, UsageError } from "../../src/errors.js";
import { writeTar } from "../../src/image/tar-output.js";

const work = mkdtempSync(join(tmpdir(), "flowpack-fs-errors-"));
const user = { action: "write the OCI layout", owner: "user" as const, hint: "or choose another --oci-layout folder" };
const owned = { action: "extract the flow into a temporary folder", owner: "flowpack" as const };

describe("fileSystemError", () => {
  it.each([
    ["ENOTDIR", user, FileSystemPathError, "FS_NOT_A_DIRECTORY", 2, "not a directory"],
    ["EISDIR", user, FileSystemPathError, "FS_IS_A_DIRECTORY", 2, "is a directory"],
    ["ENAMETOOLONG", user, FileSystemPathError, "FS_NAME_TOO_LONG", 2, "name too long"],
    ["EACCES", user, FileSystemPathError, "FS_PERMISSION_DENIED", 2, "permission denied"],
    ["EACCES", owned, FileSystemFaultError, "FS_PERMISSION_DENIED", 3, "permission denied"],
    ["ENOENT", user, FileSystemPathError, "FS_NOT_FOUND", 2, "a parent folder does not exist"],
    ["ENOSPC", user, FileSystemFaultError, "FS_NO_SPACE", 3, "no space left on the device"],
    ["EROFS", user, FileSystemFaultError, "FS_READ_ONLY", 3, "read-only file system"],
    ["EMFILE", owned, FileSystemFaultError, "FS_TOO_MANY_OPEN_FILES", 3, "too many open files"],
    ["EIO", user, FileSystemFaultError, "FS_IO", 3, "input/output error"],
  ] as const)("%s on a %s path", (errno, role, type, code, exitCode, reason) => {
    const error = fileSystemError(errnoError(errno, "/x/y/blobs/sha256/abc.tmp"), "/x/y", role);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, exitCode, path: "/x/y", errno });
    expect((error as Error).message).toBe(`cannot ${role.action} at /x/y: ${reason} (${errno})`);
    expect((error as Error).message).not.toContain(".tmp"); // the user's path, not flowpack's temporary
    expect(isFlowpackError(error)).toBe(true);
  });

  it("passes bugs and flowpack's own errors through unchanged", () => {
    const bug = new TypeError("x is undefined");
    const own = new UsageError("bad flag");
    expect(fileSystemError(bug, "/x", user)).toBe(bug);
    expect(fileSystemError(own, "/x", user)).toBe(own);
    expect(fileSystemError(Object.assign(new Error("odd"), { code: "ERR_SOMETHING" }), "/x", user)).not.toBeInstanceOf(FileSystemPathError);
  });
});

describe("path checks", () => {
  it("accepts creatable paths, refuses files in the way and folders named as files", () => {
    const file = join(work, "file");
    writeFileSync(file, "");
    expect(() => checkOutputFolder(join(work, "new", "deeper"), user)).not.toThrow();
    expect(() => checkOutputFile(join(work, "new", "m.json"), user)).not.toThrow();
    expect(() => checkOutputFolder(join(file, "sub"), user)).toThrow(/not a directory \(ENOTDIR\)/);
    expect(() => checkOutputFile(work, user)).toThrow(/is a directory \(EISDIR\)/);
    expect(existsSync(join(work, "new"))).toBe(false); // checking creates nothing
  });
});

describe("owned temporary folders", () => {
  it("removes those of dead pids on this host and old unowned ones, keeps live and young ones", async () => {
    const base = join(work, "temps");
    mkdirSync(base);
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
    for (const name of [`bundle-${dead}.${hostTagOf()}-a`, `bundle-${process.pid}.${hostTagOf()}-b`, `bundle-${dead}.ffffffff-c`, "bundle-d", "other-e"]) mkdirSync(join(base, name));
    const removed = await removeStaleTempDirs(base, "bundle-");
    expect(removed).toEqual([join(base, `bundle-${dead}.${hostTagOf()}-a`)]);
    const later = await removeStaleTempDirs(base, "bundle-", Date.now() + STALE_AFTER_MS + 1000);
    expect(later.sort()).toEqual([join(base, `bundle-${dead}.ffffffff-c`), join(base, "bundle-d")].sort());
    expect(readdirSync(base).sort()).toEqual([`bundle-${process.pid}.${hostTagOf()}-b`, "other-e"]);
    const mine = await makeOwnedTempDir(base, "bundle-");
    expect(mine).toMatch(new RegExp(`/bundle-${process.pid}\\.${hostTagOf()}-[A-Za-z0-9]{6}$`));
  });
});

describe("writeTar to a file", () => {
  it("removes its temporary when the rename fails (a folder in the way)", async () => {
    const dir = join(work, "in-the-way");
    mkdirSync(join(dir, "image.tar"), { recursive: true });
    const produce = async (pack: Pack) => {
      pack.entry({ name: "a", size: 1 }, Buffer.from("a"));
      pack.finalize();
    };
    await expect(writeTar(produce, { file: join(dir, "image.tar") })).rejects.toMatchObject({ code: "EISDIR" });
    expect(readdirSync(dir)).toEqual(["image.tar"]);
  });
});
