import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ParameterValidationError, UsageError } from "../../src/errors.js";
import { flow } from "../../src/flow/flow.js";
import { baseManifest } from "../../src/manifest/registry.js";
import { FilePackager } from "../../src/packagers/file.js";
import { runManifest, runTarget } from "../../src/run/manifest.js";

const add = flow({ name: "add", parameters: z.object({ a: z.number(), b: z.number().default(1) }) }, async ({ a, b }) => a + b);
const inImage = (image: string) => baseManifest("docker", add).finalize({ image, imageFlowLocation: "/opt/flowpack/flow.mjs" });
const noDaemon = { hostEnv: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } };

describe("runManifest: the library's `flowpack run`", () => {
  it("runs a file manifest here and returns the run record", async () => {
    const { doubler } = await import("../fixtures/flows/with-helper.js");
    const manifest = await new FilePackager({ store: mkdtempSync(join(tmpdir(), "flowpack-run-manifest-")) }).package(doubler);
    const record = await runManifest(manifest, { n: 4 });
    expect(record).toMatchObject({ flowName: doubler.name, status: "completed", result: { value: 8, tags: [] } });
  });

  it("auto picks local for file manifests and OCI layouts, docker for registry and daemon images", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    expect(runTarget(inImage(`127.0.0.1:5000/f/add:fp-1@${digest}`))).toBe("docker");
    expect(runTarget(inImage(digest))).toBe("docker");
    expect(runTarget(inImage(`oci:/tmp/layout@${digest}`))).toBe("local");
    expect(runTarget(inImage(digest), "local")).toBe("local");
    expect(() => runTarget(inImage(digest), "moon")).toThrow('unknown --on "moon"; known: auto, local, docker, swarm');
  });

  it("validates parameters before anything starts: no daemon is asked", async () => {
    const manifest = inImage(`127.0.0.1:5000/f/add:fp-1@sha256:${"a".repeat(64)}`);
    const error = await runManifest(manifest, { a: "x" }, noDaemon).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect((error as ParameterValidationError).issues[0]?.path).toBe("a");
  });

  it("refuses an --env that would redirect the runner, before anything starts", async () => {
    const manifest = inImage(`127.0.0.1:5000/f/add:fp-1@sha256:${"a".repeat(64)}`);
    await expect(runManifest(manifest, { a: 1 }, { ...noDaemon, env: { FLOWPACK_MANIFEST: "{}" } })).rejects.toThrow("--env FLOWPACK_MANIFEST: flowpack's runner sets FLOWPACK_MANIFEST itself");
  });

  it("refuses what cannot work, before anything starts", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    await expect(runManifest(inImage(digest), { a: 1 }, { on: "local" })).rejects.toThrow(UsageError);
    await expect(runManifest(inImage(`oci:/tmp/l@${digest}`), { a: 1 }, { network: "none" })).rejects.toThrow("--network applies to runs in a container");
  });
});
