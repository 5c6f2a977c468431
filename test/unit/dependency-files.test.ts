import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DependencyFilesError } from "../../src/errors.js";
import type { ProgressEvent } from "../../src/progress.js";
import { entriesKey } from "../../src/image/entries-key.js";
import { CREDENTIAL_RULES_VERSION } from "../../src/packagers/docker/credentials.js";
import { DEPENDENCY_SELECTION, dependencyEntries, dependencyLayerKey, leftOutNotice } from "../../src/packagers/docker/dependencies.js";
import { fileSelectionOf, packageFiles } from "../../src/packagers/docker/package-files.js";

const work = mkdtempSync(join(tmpdir(), "flowpack-dependency-files-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const shipped = (entries: { path: string; type: string }[], prefix: string) =>
  entries.filter((e) => e.type !== "dir").map((e) => e.path.slice(prefix.length + 1)).sort();

describe("a dependency's files", () => {
  it("a source folder (outside node_modules) ships what npm pack publishes, minus credentials", async () => {
    const dir = tree(join(work, "packages", "ws"), {
      "package.json": JSON.stringify({ name: "ws", version: "1.0.0", main: "index.js", files: ["index.js", "lib", "extra.txt"] }),
      "index.js": "module.exports = 1;\n",
      "extra.txt": "listed\n",
      "not-listed.txt": "not in files\n",
      ".envrc": "export TOKEN=x\n",
      "lib/helper.js": "module.exports = 2;\n",
      "lib/.env": "TOKEN=x\n",
      "lib/.aws/credentials": "[default]\n",
      "lib/drafts/.npmignore": "draft.txt\n",
      "lib/drafts/draft.txt": "ignored by .npmignore\n",
      "lib/drafts/kept.txt": "kept\n",
      "node_modules/dep/index.js": "nested dependency\n",
    });
    expect(fileSelectionOf(dir)).toBe("packed");
    const files = await packageFiles(dir, "app/node_modules/ws");
    expect(files.selection).toBe("packed");
    expect(shipped(files.entries, "app/node_modules/ws")).toEqual(["extra.txt", "index.js", "lib/drafts/kept.txt", "lib/helper.js", "package.json"]);
    // .envrc at the root was never selected (not in `files`): only what the credential list took out is reported
    expect(files.leftOut).toEqual(["lib/.aws/credentials", "lib/.env"]);
  });

  it("a folder installed from a registry (inside node_modules) ships as delivered, minus credentials", async () => {
    const dir = tree(join(work, "project", "node_modules", "reg"), {
      "package.json": JSON.stringify({ name: "reg", version: "2.0.0", files: ["index.js"] }),
      "index.js": "module.exports = 3;\n",
      "delivered.txt": "not in files, but the registry delivered it\n",
      ".pgpass": "db:5432:*:me:pw\n",
      "conf/credentials.json": "{}\n",
      ".docker/config.json": "{}\n",
      "node_modules/nested/index.js": "placed by the closure\n",
    });
    expect(fileSelectionOf(dir)).toBe("installed");
    const files = await packageFiles(dir, "app/node_modules/reg");
    expect(shipped(files.entries, "app/node_modules/reg")).toEqual(["delivered.txt", "index.js", "package.json"]);
    expect(files.leftOut).toEqual([".docker/config.json", ".pgpass", "conf/credentials.json"]);
  });

  it("says once per package which credential files it left out, by name", async () => {
    const project = join(work, "notice");
    const dir = tree(join(project, "packages", "x"), {
      "package.json": JSON.stringify({ name: "x", version: "1.0.0" }),
      "index.js": "",
      ".envrc": "SECRET_CONTENT\n",
      ".git-credentials": "SECRET_CONTENT\n",
      "a/.pgpass": "SECRET_CONTENT\n",
      "b/credentials.json": "SECRET_CONTENT\n",
      "c/.aws/credentials": "SECRET_CONTENT\n",
    });
    const events: ProgressEvent[] = [];
    const entries = await dependencyEntries([{ name: "x", version: "1.0.0", dir, target: "node_modules/x" }], "/opt/flowpack", {
      projectRoot: project,
      onProgress: (event) => events.push(event),
    });
    // no folder emptied by the credential list (a/, b/, c/) is left behind
    expect(entries.map((e) => e.path)).toEqual(["opt/flowpack/node_modules/x", "opt/flowpack/node_modules/x/index.js", "opt/flowpack/node_modules/x/package.json"]);
    expect(events).toEqual([
      {
        phase: "warning",
        message: "left out of the dependency layer: 5 credential files in packages/x (.envrc, .git-credentials, a/.pgpass, b/credentials.json, …): credentials never ship",
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("SECRET_CONTENT");
  });

  it("names one file in the singular, and a package outside the project by its name", () => {
    expect(leftOutNotice([".env"], "x")).toBe("left out of the dependency layer: 1 credential file in x (.env): credentials never ship");
  });

  it("a source folder without a readable package.json is a DependencyFilesError", async () => {
    const dir = tree(join(work, "broken"), { "index.js": "" });
    await expect(packageFiles(dir, "app/node_modules/broken")).rejects.toBeInstanceOf(DependencyFilesError);
  });
});

describe("the dependency layer's cache key and image inputs", () => {
  const entries = [{ path: "opt/flowpack/node_modules/x/index.js", type: "file" as const, mode: 0o644, content: Buffer.from("1") }];

  it("name the selection rule: a layer cached under another rule (or before there was one) is not reused", () => {
    expect(dependencyLayerKey(DEPENDENCY_SELECTION, entries)).not.toBe(entriesKey("dependencies", entries));
    expect(dependencyLayerKey(DEPENDENCY_SELECTION, entries)).not.toBe(dependencyLayerKey("installed-or-packed/credentials-1", entries));
    expect(dependencyLayerKey(DEPENDENCY_SELECTION, entries)).toBe(dependencyLayerKey(DEPENDENCY_SELECTION, [...entries]));
  });

  it("the rule's version follows the credential list's", () => {
    expect(DEPENDENCY_SELECTION).toContain(`credentials-${CREDENTIAL_RULES_VERSION}`);
  });
});
