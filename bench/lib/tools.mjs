// The four ways to get a flow into a registry image, each run as a user would run it.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { run, shellQuote } from "./proc.mjs";
import { writeDockerfile, writeFlowpackStandIn } from "./workloads.mjs";

/**
 * ctx: { repoRoot, cli, node, docker, containerify, env, daemonEnv, baseLocal, baseRepository,
 *        baseTag, cacheDir, log, timeoutMs }
 * build({ dir, host, namespace, tag, flowName }) → { commands: string[], ms, ref, manifestPath? }
 *   ref = { host, repository, tag } of the pushed image.
 * runFlow({ image, manifestPath }) → argv that prints the flow's result as JSON on stdout.
 */
export function createTools(ctx) {
  // warm: each build handed to the warm process the previous one left (the default at a terminal;
  // FLOWPACK_WARM=1 here, where there is none), in its own copy of the workload, so its own warm
  // process; no --watch of its own (it is the same process). Otherwise FLOWPACK_WARM=0: each build
  // in a fresh process, as in CI jobs, whatever the bench's own environment says.
  const flowpack = (builder, { warm = false } = {}) => ({
    id: `flowpack-${builder}${warm ? "-warm" : ""}`,
    label: `flowpack --builder ${builder}${warm ? ", warm (the default at a terminal; FLOWPACK_WARM=1)" : ""}`,
    daemon: builder === "docker",
    async prepare() {},
    async build({ dir, host, namespace, tag }) {
      const manifestPath = join(dir, `.bench-manifest-${tag}.json`);
      const base = builder === "oci" ? `${host}/${ctx.baseRepository}:${ctx.baseTag}` : ctx.baseLocal;
      const argv = [ctx.node, ctx.cli, "package", join(dir, "flow.mjs"), "--packager", "docker", "--builder", builder, "--base-image", base, "--registry", `http://${host}/${namespace}`, "--tag", tag, "-o", manifestPath, "-q"];
      // the daemonless builder gets no DOCKER_HOST: it must not need a daemon
      const env = { ...(builder === "oci" ? ctx.env : ctx.daemonEnv), FLOWPACK_WARM: warm ? "1" : "0" };
      const result = await run(argv, { cwd: dir, env, timeoutMs: ctx.timeoutMs, log: ctx.log });
      const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
      const at = manifest.image.indexOf("@");
      const path = manifest.image.slice(host.length + 1, at);
      const colon = path.lastIndexOf(":");
      return {
        commands: [shellQuote(argv)],
        ms: result.ms,
        ref: { host, repository: path.slice(0, colon), tag: path.slice(colon + 1), digest: manifest.image.slice(at + 1) },
        manifestPath,
      };
    },
    runFlowArgv({ manifestPath }) {
      return { argv: [ctx.node, ctx.cli, "run", manifestPath, "--network", "none"], env: ctx.daemonEnv };
    },
    /** `flowpack package --watch`, pushing every build to host/namespace:tag. */
    watch: warm ? undefined : ({ dir, host, namespace, tag }) => {
      const manifestPath = join(dir, `.bench-manifest-${tag}.json`);
      const base = builder === "oci" ? `${host}/${ctx.baseRepository}:${ctx.baseTag}` : ctx.baseLocal;
      const argv = [ctx.node, ctx.cli, "package", join(dir, "flow.mjs"), "--packager", "docker", "--builder", builder, "--base-image", base, "--registry", `http://${host}/${namespace}`, "--tag", tag, "-o", manifestPath, "-q", "--watch"];
      return { argv, env: builder === "oci" ? ctx.env : ctx.daemonEnv, manifestPath };
    },
  });

  const dockerfile = {
    id: "dockerfile",
    label: "Dockerfile + docker build/push",
    daemon: true,
    async prepare(dir) {
      await writeFlowpackStandIn({ dir, repoRoot: ctx.flowpackRoot });
      return { dockerfile: writeDockerfile({ dir, baseImage: ctx.baseLocal }) };
    },
    async build({ dir, host, namespace, tag, flowName }) {
      const repository = `${namespace}/${flowName}`;
      const reference = `${host}/${repository}:${tag}`;
      const buildArgv = [ctx.docker, "build", "-t", reference, "."];
      const pushArgv = [ctx.docker, "push", reference];
      const built = await run(buildArgv, { cwd: dir, env: ctx.daemonEnv, timeoutMs: ctx.timeoutMs, log: ctx.log });
      const pushed = await run(pushArgv, { cwd: dir, env: ctx.daemonEnv, timeoutMs: ctx.timeoutMs, log: ctx.log });
      const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed.stdout)?.[1];
      return {
        commands: [`cd ${shellQuote([dir])} && ${shellQuote(buildArgv)} && ${shellQuote(pushArgv)}`],
        ms: built.ms + pushed.ms,
        ref: { host, repository, tag, digest },
        localRefs: [reference],
      };
    },
    runFlowArgv({ image, name }) {
      return { argv: [ctx.docker, "run", "--rm", "--name", name, "--network", "none", image], env: ctx.daemonEnv };
    },
  };

  const containerify = {
    id: "containerify",
    label: "containerify",
    daemon: false,
    async prepare(dir) {
      await writeFlowpackStandIn({ dir, repoRoot: ctx.flowpackRoot });
    },
    async build({ dir, host, namespace, tag, flowName }) {
      const repository = `${namespace}/${flowName}`;
      const digestFile = join(ctx.cacheDir, `containerify-digest-${process.pid}`);
      rmSync(digestFile, { force: true });
      // Set up as favourably as containerify allows: base layers cached locally between builds
      // (--layerCacheFolder) and mounted instead of re-uploaded (--doCrossMount).
      const argv = [
        ctx.node, ctx.containerify,
        "--registry", `http://${host}/v2/`,
        "--fromImage", ctx.containerifyBase ?? `${ctx.baseRepository}:${ctx.baseTag}`,
        "--toImage", `${repository}:${tag}`,
        "--folder", dir,
        "--allowNoPushAuth",
        "--doCrossMount",
        "--layerCacheFolder", join(ctx.cacheDir, "containerify-layers"),
        "--entrypoint", "node run.mjs",
        "--writePrefixedDigestTo", digestFile,
      ];
      const result = await run(argv, { cwd: dir, env: ctx.env, timeoutMs: ctx.timeoutMs, log: ctx.log });
      const digest = existsSync(digestFile) ? readFileSync(digestFile, "utf8").trim() : undefined;
      return { commands: [shellQuote(argv)], ms: result.ms, ref: { host, repository, tag, digest } };
    },
    runFlowArgv({ image, name }) {
      return { argv: [ctx.docker, "run", "--rm", "--name", name, "--network", "none", image], env: ctx.daemonEnv };
    },
  };

  return [flowpack("oci"), flowpack("oci", { warm: true }), flowpack("docker"), dockerfile, containerify];
}

/** Versions, as each tool reports itself. */
export async function toolVersions(ctx) {
  const text = async (argv, env = ctx.env) => {
    try {
      return (await run(argv, { env, timeoutMs: 60_000 })).stdout.trim();
    } catch (error) {
      return `unknown (${error.message.split("\n")[0]})`;
    }
  };
  const flowpackVersion = await text([ctx.node, ctx.cli, "--version"]);
  const git = ctx.flowpackLabel ?? (await text(["git", "-C", ctx.flowpackSource ?? ctx.repoRoot, "describe", "--always", "--dirty", "--abbrev=10"]));
  const docker = await text([ctx.docker, "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"], ctx.daemonEnv);
  const driver = await text([ctx.docker, "info", "--format", "{{.Driver}}"], ctx.daemonEnv);
  const containerify = await text([ctx.node, ctx.containerify, "--version"]);
  const flowpack = `flowpack ${flowpackVersion} (${git})`;
  return {
    "flowpack-oci": flowpack,
    "flowpack-oci-warm": flowpack,
    "flowpack-docker": `${flowpack}; docker ${docker}, ${driver}`,
    dockerfile: `docker ${docker}, legacy builder, ${driver}`,
    containerify: `containerify ${containerify}, node ${process.version}`,
    raw: { flowpack: flowpackVersion, git, docker, storageDriver: driver, containerify },
  };
}

/** Does this build of flowpack accept --builder oci? (Probed without building anything.) */
export async function hasOciBuilder(ctx) {
  const result = await run([ctx.node, ctx.cli, "package", "/nonexistent/bench-probe.mjs", "--packager", "docker", "--builder", "oci"], {
    env: ctx.env,
    timeoutMs: 60_000,
    allowFailure: true,
  });
  return !/unknown --builder/i.test(result.stderr + result.stdout);
}
