import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { serializeManifest } from "../../src/manifest/registry.js";
import { DockerPackager } from "../../src/packagers/docker/packager.js";
import { docker } from "./docker.js";
import { services } from "./services.js";

/**
 * A test file's own corner for flows run in containers: a work folder, a registry repository of its
 * own, and the containers of that repository only. Other test files run containers on the same
 * daemon at the same time, so "no container left" must look at this file's alone.
 */
export function containerRuns(prefix: string) {
  const work = mkdtempSync(join(tmpdir(), `flowpack-${prefix}-`));
  const repository = `${prefix}-${basename(work).slice(-6).toLowerCase()}`;
  return {
    work,
    repository,
    /** Packages `entry` with the oci builder, pushes it to the test registry, writes its manifest; returns the manifest's path. */
    async packageToRegistry(entry: string, name: string, env: NodeJS.ProcessEnv): Promise<string> {
      const manifest = await new DockerPackager({
        env,
        builder: "oci",
        baseImage: services().FLOWPACK_TEST_BASE_IMAGE,
        registryUrl: `${services().FLOWPACK_TEST_REGISTRY}/${repository}`,
      }).package(entry);
      const path = join(work, `${name}.json`);
      writeFileSync(path, serializeManifest(manifest));
      return path;
    },
    /** flowpack's run containers (running or not) from this repository's images. */
    async containers(): Promise<string[]> {
      const { stdout } = await docker(["ps", "-a", "--filter", "label=dev.flowpack.run=1", "--format", "{{.ID}} {{.Image}}"]);
      return stdout.split("\n").filter((line) => line.includes(`/${repository}/`));
    },
  };
}
