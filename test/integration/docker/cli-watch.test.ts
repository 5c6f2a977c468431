import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../../helpers/docker.js";
import { example, repoRoot } from "../../helpers/paths.js";
import { services } from "../../helpers/services.js";

/** `flowpack package --watch` as a user runs it: a real process, real edits, the real registry and daemon. */
describe("flowpack package --watch", () => {
  const work = mkdtempSync(join(tmpdir(), "flowpack-watch-cli-"));
  let child: ChildProcessWithoutNullStreams | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("packages again on every save, survives a broken save, and stops cleanly on Ctrl-C", async () => {
    // examples/report, its packages linked from the workspace's node_modules (where npm hoisted them).
    const project = join(work, "report");
    cpSync(example("report"), project, { recursive: true, filter: (source) => !source.includes("node_modules") });
    mkdirSync(join(project, "node_modules"));
    for (const name of ["date-fns", "ms", "zod"]) symlinkSync(join(repoRoot, "node_modules", name), join(project, "node_modules", name));
    const manifestPath = join(work, "manifest.json");
    const registry = `${services().FLOWPACK_TEST_REGISTRY}/watch${Date.now().toString(36)}`; // the registry outlives test runs
    const env = { ...process.env, DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-config"), FLOWPACK_CACHE_DIR: join(work, "cache") };
    const args = ["package", "src/flow.ts", "--packager", "docker", "--builder", "oci", "--base-image", services().FLOWPACK_TEST_BASE_IMAGE];
    child = spawn(process.execPath, [join(repoRoot, "dist/cli.mjs"), ...args, "--registry", registry, "-o", manifestPath, "--watch"], { cwd: project, env });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const builds = () => stderr.split("\n").filter((line) => line.startsWith("  built in ")).length;
    const waitFor = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + 90_000;
      while (!done() && Date.now() < deadline && child!.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(done(), `${what}; stderr so far:\n${stderr}`).toBe(true);
    };
    const image = () => (JSON.parse(readFileSync(manifestPath, "utf8")) as { image: string }).image;
    const runImage = async () => {
      const run = await docker(["run", "--rm", "--network", "none", image(), "-p", "day=2024-03-01", "-p", "limit=2"]);
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { total: string };
    };

    await waitFor("the first build", () => builds() === 1);
    const first = image();
    expect((await runImage()).total).toBe("37.50 EUR");

    // A save of one of the flow's own modules: a new image with the change in it.
    const summary = join(project, "src", "summary.ts");
    const original = readFileSync(summary, "utf8");
    writeFileSync(summary, original.replace("${currency}`", "${currency} (watched)`"));
    await waitFor("a rebuild after the save", () => builds() === 2);
    expect(image()).not.toBe(first);
    expect((await runImage()).total).toBe("37.50 EUR (watched)");

    // A broken save: the error, and the watch goes on; the fix brings the next image.
    writeFileSync(summary, original + "\nexport const broken = ;\n");
    await waitFor("the bundling error", () => stderr.includes("flowpack: error: cannot bundle"));
    expect(child.exitCode).toBeNull();
    writeFileSync(summary, original);
    await waitFor("a rebuild after the fix", () => builds() === 3);
    expect((await runImage()).total).toBe("37.50 EUR");

    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => (child!.exitCode !== null ? resolve(child!.exitCode) : child!.on("close", resolve)));
    expect(code).toBe(130);
    expect(stderr).toContain("interrupted: stopped watching");
    const temporary = join(project, "node_modules", ".cache", "flowpack");
    expect(existsSync(temporary) ? readdirSync(temporary) : []).toEqual([]);
  });
});
