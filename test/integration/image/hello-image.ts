import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { assembleImage, baseImageAnnotations, type Image } from "../../../src/image/image.js";
import { buildLayer } from "../../../src/image/layer-writer.js";
import { readImageFromLayout, type LayoutImage } from "../../../src/image/layout.js";
import type { Layer } from "../../../src/image/layer.js";
import { services, type Services } from "../../helpers/services.js";

export const exec = promisify(execFile);

export const HELLO_OUTPUT = "hello from a flowpack image";
export const HELLO_JS = `console.log(${JSON.stringify(HELLO_OUTPUT)}, process.version, process.getuid());\n`;

/**
 * The test services (scripts/services.sh, started by the global setup or by hand). They are written
 * by another process: wait a little for services.json and the base layout if they are not there yet.
 */
export async function waitForServices(timeoutMs = 240_000): Promise<Services> {
  const dir = process.env.FLOWPACK_SERVICES_DIR ?? "/tmp/flowpack-services";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const file = join(dir, "services.json");
    if (existsSync(file)) {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as Services;
      if (parsed.FLOWPACK_TEST_BASE_LAYOUT && existsSync(join(parsed.FLOWPACK_TEST_BASE_LAYOUT, "index.json"))) return services();
    }
    if (Date.now() > deadline) {
      throw new Error(`test services are not up (no ${file} with a base layout): run bash scripts/services.sh start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

export interface HelloImage {
  base: LayoutImage;
  app: Layer;
  image: Image<Layer>;
}

/** The services' Node base image (from its OCI layout) + one layer holding /app/hello.js. */
export async function buildHelloImage(s: Services): Promise<HelloImage> {
  const base = await readImageFromLayout(s.FLOWPACK_TEST_BASE_LAYOUT);
  const app = await buildLayer(
    [
      { path: "/app/hello.js", type: "file", content: HELLO_JS, uid: 1000, gid: 1000 },
      { path: "/app", type: "dir", uid: 1000, gid: 1000 },
    ],
    { mtime: 0 },
  );
  const image = assembleImage(base, {
    layers: [{ layer: app, history: { created_by: "flowpack: app (integration test)" } }],
    changes: { user: "1000:1000", workingDir: "/app", cmd: ["node", "/app/hello.js"], labels: { "org.flowpack.test": "image" } },
    annotations: baseImageAnnotations("flowpack-test/node:20", base.manifestDigest),
  });
  return { base, app, image };
}

/** The docker CLI matching the test daemon (the distro's 20.10 client first), with a throwaway config folder. */
export function dockerCli(s: Services, configDir: string): { file: string; env: NodeJS.ProcessEnv } {
  const file = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  return { file, env: { ...process.env, DOCKER_HOST: s.DOCKER_HOST, DOCKER_CONFIG: configDir } };
}
