import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runNode } from "../helpers/cli.js";
import { repoRoot } from "../helpers/paths.js";

// Work the CLI starts ahead of a command, while the command's own code loads.
const work = mkdtempSync(join(tmpdir(), "flowpack-startup-"));

/** Runs `body` in a fresh Node.js process (no esbuild service of vitest's own), which prints the names of its child processes. */
async function childNamesAfter(body: string): Promise<string[]> {
  const script = join(work, `probe-${Date.now()}.mjs`);
  writeFileSync(
    script,
    `import { readFileSync } from "node:fs";
${body}
await new Promise((resolve) => setTimeout(resolve, 500));
const children = readFileSync(\`/proc/\${process.pid}/task/\${process.pid}/children\`, "utf8").split(" ").filter(Boolean);
console.log(JSON.stringify(children.map((pid) => readFileSync(\`/proc/\${pid}/comm\`, "utf8").trim())));
`,
  );
  const r = await runNode(script, [], { timeoutMs: 30_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

describe("start-up work the CLI begins before a command's code has loaded", () => {
  it("startEsbuildService: esbuild's process runs before anything is bundled (and only then)", async () => {
    const module = pathToFileURL(join(repoRoot, "dist", "bundle", "esbuild-service.js")).href;
    expect(await childNamesAfter(`const { startEsbuildService } = await import(${JSON.stringify(module)}); startEsbuildService();`)).toContain("esbuild");
    expect(await childNamesAfter(`await import(${JSON.stringify(module)});`)).not.toContain("esbuild");
  });
});
