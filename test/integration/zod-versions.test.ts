// The zod matrix: the same flow in three small real projects that differ only in their zod
// (3.23, the "zod" of 3.25, and 4), each installed from its own lockfile, packaged with the file
// packager and with the oci builder, and run with `flowpack run` through the real CLI.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack } from "../helpers/cli.js";
import { installedProject } from "../helpers/project.js";
import { services } from "../helpers/services.js";

const work = mkdtempSync(join(tmpdir(), "flowpack-zod-"));
let env: NodeJS.ProcessEnv;

const projects = [
  { project: "zod3-project", zod: "3.23.8", major: 3 },
  { project: "zod325-project", zod: "3.25.76", major: 3 },
  { project: "zod4-project", zod: "4.6.7", major: 4 },
] as const;

/** The parameter schema each project's manifest recorded, to compare them once all have run. */
const schemas = new Map<string, unknown>();

const args = ["-p", "name=ann", "-p", "day=2024-03-01", "-p", 'tags=["a","b"]', "-p", 'target={"table":"t"}'];
const expected = (major: number) => ({ name: "ann", limit: 100, mode: "full", tags: ["a", "b"], target: { table: "t", dry: false }, day: "2024-03-01", zod: major });

beforeAll(() => {
  env = { DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-docker-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
});

describe.each(projects)("a project on zod $zod", ({ project, major }) => {
  let dir: string;
  beforeAll(async () => {
    dir = await installedProject(project);
    const installed = JSON.parse(readFileSync(join(dir, "node_modules/zod/package.json"), "utf8")) as { version: string };
    expect(installed.version).toBe(projects.find((p) => p.project === project)!.zod);
  }, 300_000);

  it("packages with the file packager and runs: defaults applied, date coerced, the project's zod used", async () => {
    const manifest = join(work, `${project}-file.json`);
    const packaged = await flowpack(["package", "src/flow.ts", "--output", manifest, "--store", join(work, "store")], { cwd: dir, env });
    expect(packaged.code, packaged.stderr).toBe(0);
    const schema = (JSON.parse(readFileSync(manifest, "utf8")) as { flowParameterSchema: unknown }).flowParameterSchema;
    expect(schema).toMatchObject({ type: "object", required: ["name", "day"], properties: { limit: { type: "integer", default: 100 }, name: { description: "who asks" } } });
    schemas.set(project, schema);

    const run = await flowpack(["run", manifest, ...args], { cwd: work, env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expected(major));
  });

  it("a date that does not parse is an invalid date (exit 2), and a wrong enum names its path", async () => {
    const manifest = join(work, `${project}-file.json`);
    const badDate = await flowpack(["run", manifest, "-p", "name=ann", "-p", "day=notadate"], { cwd: work, env });
    expect(badDate.code, badDate.stderr).toBe(2);
    expect(badDate.stderr).toMatch(/day.*invalid date/);
    expect(badDate.stderr).not.toMatch(/received Date/);

    const badMode = await flowpack(["run", manifest, "-p", "name=ann", "-p", "day=2024-03-01", "-p", "mode=half"], { cwd: work, env });
    expect(badMode.code, badMode.stderr).toBe(2);
    expect(badMode.stderr).toMatch(/mode.*"full", "delta"/);
  });

  it("packages as an image with the oci builder, pushed, and runs it in a container", async () => {
    const manifest = join(work, `${project}-oci.json`);
    const packaged = await flowpack(
      ["package", "src/flow.ts", "--packager", "docker", "--builder", "oci", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE, "--registry", `${services().FLOWPACK_TEST_REGISTRY}/zod`, "--output", manifest],
      { cwd: dir, env },
    );
    expect(packaged.code, packaged.stderr).toBe(0);
    expect((JSON.parse(readFileSync(manifest, "utf8")) as { flowParameterSchema: unknown }).flowParameterSchema).toEqual(schemas.get(project));

    const run = await flowpack(["run", manifest, ...args], { cwd: work, env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expected(major));

    const badDate = await flowpack(["run", manifest, "-p", "name=ann", "-p", "day=notadate"], { cwd: work, env });
    expect(badDate.code, badDate.stderr).toBe(2);
    expect(badDate.stderr).toMatch(/day.*invalid date/);
  }, 180_000);
});

describe("zod 3 and zod 4 projects", () => {
  it("record the same parameter schema for the same shapes", () => {
    expect(schemas.size).toBe(projects.length);
    const [first, ...rest] = [...schemas.values()];
    for (const schema of rest) expect(schema).toEqual(first);
  });
});
