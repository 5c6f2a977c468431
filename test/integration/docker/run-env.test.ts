import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack, type CliResult } from "../../helpers/cli.js";
import { docker } from "../../helpers/docker.js";
import { readableForms } from "../../helpers/find-bytes.js";
import { fixture } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

// A flow that needs DATABASE_URL when it loads and when it runs: secrets go in at run time, by
// --env or --env-file, and never come out again.
const project = fixture("env-project");
const entry = join(project, "src", "flow.ts");
const work = mkdtempSync(join(tmpdir(), "flowpack-run-env-"));
const secret = `s3cr3t-${randomBytes(8).toString("hex")}`;
const databaseUrl = `postgres://app:${secret}@db.internal:5432/app`;
const placeholder = `placeholder-${randomBytes(8).toString("hex")}`;
const hostOnly = `host-only-${randomBytes(8).toString("hex")}`;
const envFile = join(work, "run.env");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
let env: NodeJS.ProcessEnv;

/** Every output of a run: the value must be in none of them. */
const outputs = (...results: CliResult[]) => results.map((r) => r.stdout + r.stderr).join("\n");
const resultOf = (r: CliResult) => JSON.parse(r.stdout) as { digest: string; hostOnly: string | null; nodeEnv: string | null };

async function blobsContain(layout: string, needle: string): Promise<boolean> {
  const dir = join(layout, "blobs", "sha256");
  for (const name of readdirSync(dir)) {
    for (const form of await readableForms(readFileSync(join(dir, name)))) if (form.includes(needle)) return true;
  }
  return false;
}

describe("the flow's environment: --env and --env-file", () => {
  beforeAll(() => {
    env = {
      DOCKER_HOST: services().DOCKER_HOST,
      DOCKER_CONFIG: join(work, "no-config"),
      FLOWPACK_CACHE_DIR: join(work, "cache"),
      FP_TEST_HOST_ONLY: hostOnly,
      DATABASE_URL: undefined,
    };
    writeFileSync(envFile, `# the app's settings\nexport DATABASE_URL="${databaseUrl}"\nAPP_MODE=test # trailing comment\n`);
  });

  it("packaging a flow that checks its env when it loads says which variable and how to give a placeholder", async () => {
    const r = await flowpack(["package", entry, "--store", join(work, "store")], { env, cwd: project });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("src/flow.ts failed while loading: DATABASE_URL is not set");
    expect(r.stderr).toContain("--env DATABASE_URL=placeholder");
    expect(r.stderr).not.toMatch(/\n\s+at /); // a user's mistake: no stack
    expect(r.stderr).not.toContain("bundle-"); // names the user's file, not the temporary bundle
  });

  it("a file manifest runs here with this environment plus --env / --env-file; the value is in no output", async () => {
    const manifest = join(work, "file.json");
    const packaged = await flowpack(["package", entry, "--store", join(work, "store"), "-o", manifest, "--env", `DATABASE_URL=${placeholder}`], { env, cwd: project });
    expect(packaged.code, packaged.stderr).toBe(0);
    expect(readFileSync(manifest, "utf8")).not.toContain(placeholder);

    const byEnv = await flowpack(["run", manifest, "--env", `DATABASE_URL=${databaseUrl}`], { env });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(resultOf(byEnv)).toMatchObject({ digest: sha256(databaseUrl), hostOnly }); // a local run inherits
    const byFile = await flowpack(["run", manifest, "--env-file", envFile, "--json"], { env });
    expect(byFile.code, byFile.stderr).toBe(0);
    expect((JSON.parse(byFile.stdout) as { result: unknown }).result).toMatchObject({ digest: sha256(databaseUrl) });
    const fromHere = await flowpack(["run", manifest, "--env", "DATABASE_URL"], { env: { ...env, DATABASE_URL: databaseUrl } });
    expect(resultOf(fromHere).digest).toBe(sha256(databaseUrl));
    const failed = await flowpack(["run", manifest, "--env-file", envFile, "-p", "fail=true", "--json"], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("cannot connect to db.internal");
    expect(outputs(byEnv, byFile, fromHere, failed)).not.toContain(secret);

    const unset = await flowpack(["run", manifest, "--env", "DATABASE_URL"], { env });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("--env DATABASE_URL: DATABASE_URL is not set in this environment");
  });

  it("a layout run stands for the image: only what is passed, the image's Env and a minimal set", async () => {
    const layout = join(work, "layout");
    const manifest = join(work, "layout.json");
    writeFileSync(join(work, "placeholder.env"), `DATABASE_URL=${placeholder}\n`);
    const packaged = await flowpack(
      ["package", entry, "--packager", "docker", "--builder", "oci", "--base-image", `oci:${services().FLOWPACK_TEST_BASE_LAYOUT}`, "--oci-layout", layout, "-o", manifest, "--env-file", join(work, "placeholder.env"), "-q"],
      { env, cwd: project },
    );
    expect(packaged.code, packaged.stderr).toBe(0);

    const byEnv = await flowpack(["run", manifest, "--env", `DATABASE_URL=${databaseUrl}`], { env });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(resultOf(byEnv)).toEqual({ digest: sha256(databaseUrl), hostOnly: null, nodeEnv: "production" });
    const byFile = await flowpack(["run", manifest, "--env-file", envFile], { env });
    expect(resultOf(byFile)).toEqual({ digest: sha256(databaseUrl), hostOnly: null, nodeEnv: "production" });
    const missing = await flowpack(["run", manifest], { env: { ...env, DATABASE_URL: databaseUrl } });
    expect(missing.code).toBe(2); // the host's DATABASE_URL is not the image's
    expect(missing.stderr).toContain("DATABASE_URL is not set");
    expect(outputs(byEnv, byFile, missing)).not.toContain(secret);

    expect(readFileSync(manifest, "utf8")).not.toContain(placeholder);
    expect(await blobsContain(layout, placeholder)).toBe(false);
    expect(await blobsContain(layout, "DATABASE_URL is not set")).toBe(true); // the search does see into layers
  });

  it("a container gets --env / --env-file as its environment, and nothing from here", async () => {
    const manifest = join(work, "registry.json");
    const packaged = await flowpack(
      ["package", entry, "--packager", "docker", "--builder", "oci", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE, "--registry", `${services().FLOWPACK_TEST_REGISTRY}/env`, "-o", manifest, "--env", `DATABASE_URL=${placeholder}`, "-q"],
      { env, cwd: project },
    );
    expect(packaged.code, packaged.stderr).toBe(0);
    expect(readFileSync(manifest, "utf8")).not.toContain(placeholder);

    const byEnv = await flowpack(["run", manifest, "--network", "none", "--env", `DATABASE_URL=${databaseUrl}`], { env });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(resultOf(byEnv)).toEqual({ digest: sha256(databaseUrl), hostOnly: null, nodeEnv: "production" });
    const byFile = await flowpack(["run", manifest, "--network", "none", "--env-file", envFile, "--json"], { env });
    expect(byFile.code, byFile.stderr).toBe(0);
    expect((JSON.parse(byFile.stdout) as { result: unknown }).result).toMatchObject({ digest: sha256(databaseUrl), hostOnly: null });
    const failed = await flowpack(["run", manifest, "--network", "none", "--env-file", envFile, "-p", "fail=true", "--json"], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("cannot connect to db.internal");
    expect(outputs(byEnv, byFile, failed)).not.toContain(secret);

    const image = (JSON.parse(readFileSync(manifest, "utf8")) as { image: string }).image;
    const inspected = await docker(["image", "inspect", image]);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toContain("FLOWPACK_FLOW_NAME");
    expect(inspected.stdout).not.toContain(placeholder);
    expect(inspected.stdout).not.toContain(secret);
  });
});
