import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { flowpack, type CliResult } from "../../helpers/cli.js";
import { docker } from "../../helpers/docker.js";
import { fileSources, findIn, readableForms, tarMembers } from "../../helpers/find-bytes.js";
import { services } from "../../helpers/services.js";

/**
 * A flow whose `--external` dependencies carry credential files: a workspace package (linked into
 * node_modules from packages/, its source folder) and a package as a registry delivers it (a real
 * folder in node_modules). No credential's content may reach any output of either builder, the
 * layer cache or the logs; the packages' ordinary files must.
 */

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "flowpack-credentials-"));
const run = Math.random().toString(36).slice(2, 10);

/** Credential files of 24 kinds (relative paths); each copy gets a canary of its own. */
const CREDENTIAL_KINDS = [
  ".git-credentials",
  ".envrc",
  ".aws/credentials",
  ".docker/config.json",
  ".pgpass",
  "credentials.json",
  ".env",
  ".env.production",
  ".npmrc",
  ".netrc",
  ".ssh/id_rsa",
  ".kube/config",
  "server.key",
  "tls.pem",
  ".config/gcloud/application_default_credentials.json",
  "prod-service-account.json",
  ".terraform.d/credentials.tfrc.json",
  "terraform.tfstate",
  ".my.cnf",
  "client.p12",
  ".vault-token",
  ".pypirc",
  ".htpasswd",
  ".git/config",
];

const canaries: string[] = [];
/** Ordinary content that must ship (proves the search sees file contents at all). */
const ordinary = {
  wsIndex: `fp-ordinary-ws-index-${run}`,
  wsHelper: `fp-ordinary-ws-helper-${run}`,
  wsListed: `fp-ordinary-ws-listed-${run}`,
  wsPackageJson: `fp-ordinary-ws-package-json-${run}`,
  regIndex: `fp-ordinary-reg-index-${run}`,
  regDelivered: `fp-ordinary-reg-delivered-${run}`,
};
/** Files `npm pack` would not publish from the workspace package: not credentials, but not shipped either. */
const unpublished = { notListed: `fp-unpublished-not-listed-${run}`, npmignored: `fp-unpublished-npmignored-${run}` };

function write(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** Writes every credential kind under `dir/<where>` with a fresh canary each. */
function plantCredentials(dir: string, where: string, label: string): void {
  CREDENTIAL_KINDS.forEach((kind, i) => {
    const canary = `fp-credential-canary-${label}-${i}-${run}`;
    canaries.push(canary);
    write(join(dir, where, kind), `secret=${canary}\n`);
  });
}

function makeProject(): string {
  const project = join(work, "project");
  write(join(project, "package.json"), JSON.stringify({ name: "creds-project", version: "1.0.0", type: "module", workspaces: ["packages/*"], dependencies: { "ws-creds": "1.0.0", "reg-creds": "2.0.0" } }));
  write(
    join(project, "src", "flow.ts"),
    [
      'import { flow } from "flowpack";',
      'import { fromWorkspace } from "ws-creds";',
      'import { fromRegistry } from "reg-creds";',
      'export const creds = flow({ name: "creds" }, async () => ({ ws: fromWorkspace(), reg: fromRegistry() }));',
      "",
    ].join("\n"),
  );

  // the workspace package: a source folder, published by its `files` and .npmignore
  const ws = join(project, "packages", "ws-creds");
  write(join(ws, "package.json"), JSON.stringify({ name: "ws-creds", version: "1.0.0", description: ordinary.wsPackageJson, type: "module", main: "index.js", files: ["index.js", "lib", "listed.txt"] }));
  write(join(ws, "index.js"), `import { helper } from "./lib/helper.js";\nexport const fromWorkspace = () => ["${ordinary.wsIndex}", helper()];\n`);
  write(join(ws, "lib", "helper.js"), `export const helper = () => "${ordinary.wsHelper}";\n`);
  write(join(ws, "listed.txt"), `${ordinary.wsListed}\n`);
  write(join(ws, "not-listed.txt"), `${unpublished.notListed}\n`);
  write(join(ws, "lib", "drafts", ".npmignore"), "draft.txt\n");
  write(join(ws, "lib", "drafts", "draft.txt"), `${unpublished.npmignored}\n`);
  plantCredentials(ws, "", "ws-root");
  plantCredentials(ws, "lib", "ws-lib"); // inside a folder `files` publishes: only the credential list keeps these out
  plantCredentials(ws, "lib/deep/nested", "ws-nested");
  mkdirSync(join(project, "node_modules"), { recursive: true });
  symlinkSync("../packages/ws-creds", join(project, "node_modules", "ws-creds"));

  // a package as a registry delivered it: everything in its folder ships, but credentials
  const reg = join(project, "node_modules", "reg-creds");
  write(join(reg, "package.json"), JSON.stringify({ name: "reg-creds", version: "2.0.0", main: "index.js", files: ["index.js"] }));
  write(join(reg, "index.js"), `exports.fromRegistry = () => "${ordinary.regIndex}";\n`);
  write(join(reg, "delivered.txt"), `${ordinary.regDelivered}\n`);
  plantCredentials(reg, "", "reg-root");
  plantCredentials(reg, "conf/nested", "reg-nested");
  return project;
}

let project: string;
let env: NodeJS.ProcessEnv;

function packageArgs(builder: "oci" | "docker", extra: string[]): string[] {
  return ["package", join(project, "src", "flow.ts"), "--packager", "docker", "--builder", builder, "--external", "ws-creds", "--external", "reg-creds", ...extra];
}

/** Copies every blob of a pushed image out of the registry with skopeo (not flowpack's code). */
async function registryBlobs(image: string, name: string): Promise<string> {
  const [reference, digest] = image.split("@") as [string, string];
  const repository = reference.slice(0, reference.lastIndexOf(":"));
  const dir = join(work, `registry-${name}`);
  await exec("skopeo", ["copy", "--src-tls-verify=false", `docker://${repository}@${digest}`, `dir:${dir}`], { timeout: 180_000 });
  return dir;
}

function logs(result: CliResult) {
  return [{ name: "stdout+stderr", read: () => Buffer.from(result.stdout + result.stderr) }];
}

function expectNotice(stderr: string): void {
  const notices = stderr.split("\n").filter((line) => line.includes("left out of the dependency layer"));
  expect(notices).toHaveLength(2);
  expect(notices.find((line) => line.includes("credential files in packages/ws-creds"))).toMatch(/^warning: left out of the dependency layer: \d+ credential files in packages\/ws-creds \(.*\): credentials never ship$/);
  expect(notices.find((line) => line.includes("credential files in node_modules/reg-creds"))).toMatch(/^warning: left out of the dependency layer: \d+ credential files in node_modules\/reg-creds \(.*\): credentials never ship$/);
}

const dependencyFiles = [
  "opt/flowpack/node_modules/reg-creds/delivered.txt",
  "opt/flowpack/node_modules/reg-creds/index.js",
  "opt/flowpack/node_modules/reg-creds/package.json",
  "opt/flowpack/node_modules/ws-creds/index.js",
  "opt/flowpack/node_modules/ws-creds/lib/helper.js",
  "opt/flowpack/node_modules/ws-creds/listed.txt",
  "opt/flowpack/node_modules/ws-creds/package.json",
];

describe("credential files in --external packages never ship", () => {
  beforeAll(() => {
    project = makeProject();
    env = { DOCKER_HOST: services().DOCKER_HOST, DOCKER_CONFIG: join(work, "no-docker-config"), CI: "true" };
  });

  it("oci builder: not in the pushed blobs, the OCI layout, the docker archive, the layer cache or the logs; ordinary files ship", async () => {
    const cache = join(work, "cache-oci");
    const layout = join(work, "layout");
    const archive = join(work, "image.tar");
    const out = join(work, "oci.json");
    const r = await flowpack(
      packageArgs("oci", ["--base-image", services().FLOWPACK_TEST_BASE_IMAGE, "--registry", `${services().FLOWPACK_TEST_REGISTRY}/creds-oci`, "--oci-layout", layout, "--docker-archive", archive, "-o", out]),
      { env: { ...env, FLOWPACK_CACHE_DIR: cache } },
    );
    expect(r.code, r.stderr).toBe(0);
    expectNotice(r.stderr);
    const manifest = JSON.parse(readFileSync(out, "utf8")) as { image: string; metadata: { layers: { dependencies: string } } };
    const pushed = await registryBlobs(manifest.image, "oci");
    const outputs = [
      ...fileSources(pushed, "registry"),
      ...fileSources(layout, "oci-layout"),
      { name: "docker-archive", read: () => readFileSync(archive) },
    ];
    const secrets = [...canaries, unpublished.notListed, unpublished.npmignored];
    expect(await findIn(secrets, [...outputs, ...fileSources(cache, "cache"), ...logs(r)])).toEqual([]);

    // the same search finds what must ship, in each output and in the cached dependency layer
    for (const where of [outputs.filter((s) => s.name.startsWith("registry")), outputs.filter((s) => s.name.startsWith("oci-layout")), outputs.filter((s) => s.name === "docker-archive"), fileSources(cache, "cache")]) {
      const found = await findIn(Object.values(ordinary), where);
      expect(new Set(found.map((f) => f.split(" in ")[0]))).toEqual(new Set(Object.values(ordinary)));
    }
    // the dependency layer holds exactly the packages' shipped files
    const blob = readFileSync(join(layout, "blobs", "sha256", manifest.metadata.layers.dependencies.slice("sha256:".length)));
    const [layerTar] = await readableForms(blob);
    const files = (await tarMembers(layerTar!)).filter((m) => m.type === "file").map((m) => m.name).sort();
    expect(files).toEqual(dependencyFiles);
  }, 300_000);

  it("engine builder: not in the image (docker save), the pushed blobs, the cache or the logs; the image runs the flow", async () => {
    const cache = join(work, "cache-engine");
    const out = join(work, "engine.json");
    const r = await flowpack(packageArgs("docker", ["--registry", `${services().FLOWPACK_TEST_REGISTRY}/creds-engine`, "-o", out]), {
      env: { ...env, FLOWPACK_CACHE_DIR: cache },
    });
    expect(r.code, r.stderr).toBe(0);
    expectNotice(r.stderr);
    const manifest = JSON.parse(readFileSync(out, "utf8")) as { image: string; metadata: { tag: string } };
    const local = `flowpack/creds:${manifest.metadata.tag}`;
    const saved = join(work, "engine-save.tar");
    const save = await docker(["save", "-o", saved, local]);
    expect(save.code, save.stderr).toBe(0);
    const pushed = await registryBlobs(manifest.image, "engine");
    const secrets = [...canaries, unpublished.notListed, unpublished.npmignored];
    const sources = [{ name: "docker save", read: () => readFileSync(saved) }, ...fileSources(pushed, "registry"), ...fileSources(cache, "cache"), ...logs(r)];
    expect(await findIn(secrets, sources)).toEqual([]);
    for (const where of [sources.slice(0, 1), fileSources(pushed, "registry")]) {
      const found = await findIn(Object.values(ordinary), where);
      expect(new Set(found.map((f) => f.split(" in ")[0]))).toEqual(new Set(Object.values(ordinary)));
    }

    const listed = await docker(["run", "--rm", "--network", "none", "--entrypoint", "find", local, "/opt/flowpack/node_modules", "-type", "f"]);
    expect(listed.stdout.trim().split("\n").map((p) => p.slice(1)).sort()).toEqual(dependencyFiles);
    const result = await docker(["run", "--rm", "--network", "none", local]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ws: [ordinary.wsIndex, ordinary.wsHelper], reg: ordinary.regIndex });
  }, 300_000);
});
