import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ManifestError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import {
  baseManifest,
  manifestJsonSchema,
  parseManifest,
  serializeManifest,
} from "../../src/manifest/registry.js";
import { repoRoot } from "../helpers/paths.js";

const etl = flow({ name: "etl", parameters: z.object({ day: z.string() }) }, async () => 0);
const key = `sha256:${"a".repeat(64)}` as const;

const dockerManifest = () =>
  baseManifest("docker", etl).finalize({
    image: `127.0.0.1:5555/acme/etl:abc@sha256:${"b".repeat(64)}`,
    imageFlowLocation: "/opt/flowpack/flow.mjs",
  });

describe("manifests", () => {
  it("baseManifest pre-fills the common fields; finalize adds the type's own", () => {
    expect(dockerManifest()).toEqual({
      type: "docker",
      manifestVersion: 1,
      flowName: "etl",
      flowParameterSchema: etl.parameterSchema(),
      image: `127.0.0.1:5555/acme/etl:abc@sha256:${"b".repeat(64)}`,
      imageFlowLocation: "/opt/flowpack/flow.mjs",
    });
  });

  it("finalize refuses a field set twice, or one the type does not have", () => {
    const partial = baseManifest("file", etl);
    expect(() => partial.finalize({ flowName: "x" } as never)).toThrowError(/"flowName" is already set/);
    expect(() =>
      partial.finalize({ serializer: { type: "bundle" }, key, store: "/s", image: "x" } as never),
    ).toThrowError(/"image" is not a field of file manifests/);
  });

  it("finalize validates: a relative imageFlowLocation is refused", () => {
    expect(() => baseManifest("docker", etl).finalize({ image: "sha256:" + "c".repeat(64), imageFlowLocation: "flow.mjs" })).toThrowError(
      /imageFlowLocation: expected an absolute POSIX path/,
    );
  });

  it("round-trips through stable JSON", () => {
    const text = serializeManifest(dockerManifest());
    expect(parseManifest(text)).toEqual(dockerManifest());
    expect(serializeManifest(parseManifest(text))).toBe(text);
    expect(Object.keys(JSON.parse(text))).toEqual(["type", "manifestVersion", "flowName", "flowParameterSchema", "image", "imageFlowLocation"]);
  });

  it("names the known types when the type is unknown", () => {
    expect(() => parseManifest(JSON.stringify({ ...dockerManifest(), type: "orion" }), "m.json")).toThrowError(
      new ManifestError('m.json: unknown manifest type "orion"; known types: "docker", "file"'),
    );
  });

  it("metadata: known fields are typed and validated, unknown ones kept (older and hand-written manifests still parse)", () => {
    const text = (metadata: unknown) => JSON.stringify({ ...dockerManifest(), metadata });
    const old = parseManifest(text({ builder: "oci", tag: "fp-1", layers: { app: key }, someToolsField: { x: 1 } }));
    expect(old.type === "docker" && old.metadata?.layers?.app).toBe(key);
    expect(old.metadata).toMatchObject({ someToolsField: { x: 1 } });
    expect(parseManifest(text(undefined)).metadata).toBeUndefined();
    expect(() => parseManifest(text({ layers: { app: "sha256:nothex" } }))).toThrow(/metadata\.layers\.app: expected sha256:<64 lowercase hex digits>/);
    expect(() => parseManifest(text({ tag: 7 }))).toThrow(/metadata\.tag: /);
    expect(() => parseManifest(text({ builder: "kaniko" }))).toThrow(/metadata\.builder: /);
  });

  it("names a missing field", () => {
    const { imageFlowLocation: _, ...rest } = dockerManifest();
    expect(() => parseManifest(JSON.stringify(rest), "m.json")).toThrowError(/m\.json: invalid docker manifest: imageFlowLocation: /);
  });

  it("rejects unknown fields and bad JSON", () => {
    expect(() => parseManifest(JSON.stringify({ ...dockerManifest(), imageFlowLocatoin: "/x" }))).toThrowError(/imageFlowLocatoin/);
    expect(() => parseManifest("{nope")).toThrowError(/not valid JSON/);
  });

  it("publishes the schema as JSON Schema, committed in schema/ and accepting real manifests", () => {
    const schema = manifestJsonSchema();
    const committed = JSON.parse(readFileSync(`${repoRoot}schema/manifest.schema.json`, "utf8")) as unknown;
    expect(committed, "schema/manifest.schema.json is stale: run npm run schema").toEqual(schema);
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(dockerManifest())).toBe(true);
    expect(validate({ ...dockerManifest(), type: "file" })).toBe(false);
    const file = baseManifest("file", etl).finalize({ serializer: { type: "bundle" }, key, store: "/tmp/store" });
    expect(validate(file)).toBe(true);
  });
});
