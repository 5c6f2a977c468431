import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flowpack } from "./cli.js";
import { example } from "./paths.js";

/**
 * A user's own Dockerfile project in `dir`, as the README shows it: the hello example bundled with
 * its runner into `build/` (`flowpack bundle --with-runner`), and a Dockerfile that copies the whole
 * context to /ctx (so a test can see what was sent) and the bundle to /opt/flowpack.
 */
export async function dockerfileProject(dir: string): Promise<string> {
  mkdirSync(join(dir, "build"), { recursive: true });
  const bundled = await flowpack(["bundle", example("hello", "flow.ts"), "-o", join(dir, "build", "flow.mjs"), "--with-runner"]);
  if (bundled.code !== 0) throw new Error(`flowpack bundle failed: ${bundled.stderr}`);
  writeFileSync(
    join(dir, "Dockerfile"),
    [
      "FROM node:20-bookworm-slim",
      "COPY . /ctx/",
      "COPY build/ /opt/flowpack/",
      "ENV FLOWPACK_FLOW_NAME=hello FLOWPACK_FLOW_LOCATION=/opt/flowpack/flow.mjs",
      'ENTRYPOINT ["node", "/opt/flowpack/runner.mjs"]',
      "",
    ].join("\n"),
  );
  return dir;
}
