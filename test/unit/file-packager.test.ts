import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FLOWPACK_VERSION } from "../../src/_internal/version.js";
import { PackagerOptionsError } from "../../src/errors.js";
import { serializeManifest, parseManifest } from "../../src/manifest/registry.js";
import { FilePackager } from "../../src/packagers/file.js";
import { unpackage } from "../../src/packagers/unpackage.js";
import { example, fixture } from "../helpers/paths.js";

const store = () => mkdtempSync(join(tmpdir(), "flowpack-fp-"));

describe("FilePackager", () => {
  it("packages a flow object from code (it knows its module) and unpackages it to a working flow", async () => {
    const { doubler } = await import("../fixtures/flows/with-helper.js");
    expect(doubler.modulePath).toBe(fixture("flows", "with-helper.ts"));
    const packager = new FilePackager({ store: store() });
    const manifest = await packager.package(doubler);
    expect(manifest).toMatchObject({ type: "file", flowName: doubler.name, serializer: { type: "bundle" } });
    expect(manifest.flowParameterSchema).toEqual(doubler.parameterSchema());
    const flow = await unpackage(parseManifest(serializeManifest(manifest)));
    await expect(flow.run({ n: 4, tags: ["x"] })).resolves.toEqual({ value: 8, tags: ["x"] });
  });

  it("the same inputs give the same key", async () => {
    const dir = store();
    const a = await new FilePackager({ store: dir }).package(example("report", "src", "flow.ts"));
    const b = await new FilePackager({ store: dir }).package(example("report", "src", "flow.ts"));
    expect(b.key).toBe(a.key);
  });

  it("records externals in metadata", async () => {
    const m = await new FilePackager({ store: store() }).package(fixture("native-project", "src", "flow.ts"));
    expect(m.metadata).toMatchObject({ entry: "src/flow.ts", externals: [{ name: "fake-native", version: "1.2.3" }] });
    expect(m.metadata?.createdBy).toBe(`flowpack@${FLOWPACK_VERSION}`);
    const flow = await unpackage(m, { projectRoot: fixture("native-project") });
    await expect(flow.run({})).resolves.toEqual({ answer: 42 });
  });

  it("the import serializer stores a reference to an installed module", async () => {
    const module = fixture("flows", "two.mjs");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      module,
      `import { flow } from ${JSON.stringify(new URL("../../src/index.ts", import.meta.url).href)};\nexport const second = flow({ name: "second" }, async () => 2);\n`,
    );
    try {
      const m = await new FilePackager({ store: store(), serializer: { type: "import", module } }).package("unused", { flowName: "second" });
      expect(m.serializer).toEqual({ type: "import", module, exportName: "second" });
      expect(m.metadata).toEqual({ createdBy: `flowpack@${FLOWPACK_VERSION}` });
      await expect((await unpackage(m)).run({})).resolves.toBe(2);
    } finally {
      (await import("node:fs")).rmSync(module);
    }
  });

  it("rejects an empty store path", () => {
    expect(() => new FilePackager({ store: " " })).toThrowError(PackagerOptionsError);
  });
});
