import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { writeOutputFile } from "../../_internal/fs.js";
import type { PathRole } from "../../_internal/fs-errors.js";
import { checkOutputFile } from "../../_internal/path-checks.js";
import { resolveEnv } from "../../_internal/env-vars.js";
import { reportError } from "../../_internal/report.js";
import { BundleImporter } from "../../bundle/temporary.js";
import { FlowReader } from "../../flow/reader.js";
import { prestartReaderThread, sourceMapsNow } from "../../flow/reader-thread.js";
import { InterruptedError, UsageError } from "../../errors.js";
import { serializeManifest, type PackageManifest } from "../../manifest/registry.js";
import { DEFAULT_IMAGE_FLOW_LOCATION } from "../../packagers/docker/options.js";
import { DockerPackager } from "../../packagers/docker/packager.js";
import { FilePackager } from "../../packagers/file.js";
import type { Packager } from "../../packagers/packager.js";
import type { ProgressListener } from "../../progress.js";
import type { Output } from "../output.js";
import type { WarmContext } from "../warm/server.js";
import { collect } from "../options.js";
import { createProgressRenderer } from "../progress.js";
import { nextChange } from "../watch.js";
import { abortOnStopSignals, stopSignalOf } from "../../_internal/stop.js";

const MANIFEST_ROLE: PathRole = { action: "write the manifest", owner: "user", hint: "or choose another --output file" };

interface PackageFlags {
  flow?: string;
  packager: string;
  output?: string;
  external: string[];
  include: string[];
  store?: string;
  builder?: string;
  baseImage?: string;
  dockerfile?: string;
  context?: string;
  platform?: string;
  imageFlowLocation?: string;
  registry?: string;
  tag?: string;
  dependencies?: string;
  ociLayout?: string;
  dockerArchive?: string;
  quiet?: boolean;
  watch?: boolean;
  env: string[];
  envFile: string[];
}

/**
 * A warm process's reader threads (warm/server.ts), one per entry (and source-map setting): the
 * flow's module loads in a thread as in a one-shot package, and the thread is kept for the next build
 * of that entry with the project's packages loaded, as `--watch` keeps them (only the flow's own
 * module is loaded again). A thread that can no longer be trusted to start the next build clean (the
 * flow's module left a timer or a socket running in it, or it ended) is closed and replaced.
 */
const warmReaders = new Map<string, FlowReader>();
let closeRegistered = false;

function readerFor(context: WarmContext | undefined, entry: string): FlowReader | undefined {
  if (!context?.warm) return undefined;
  const key = `${resolve(entry)}\0${sourceMapsNow()}`;
  let reader = warmReaders.get(key);
  if (!reader?.reusable) {
    reader?.close();
    reader = FlowReader.start();
    if (!reader) return undefined;
    warmReaders.set(key, reader);
  }
  if (!closeRegistered) {
    closeRegistered = true;
    context.onExit(async () => warmReaders.forEach((kept) => kept.close()));
  }
  return reader;
}

/**
 * After a warm build: a flow read in the main thread (no reader thread, or one that could not read
 * it) leaves this process not clean: it retires; a reader known not to be reusable is closed now,
 * and a thread started for its successor.
 */
function afterWarmBuild(context: WarmContext | undefined, reader: FlowReader | undefined): void {
  if (!context) return;
  // No thread to be had (running from sources): the flow was read in this thread.
  if (!reader || reader.readInMainThread) return context.retire();
  else if (reader.broken) {
    for (const [key, kept] of warmReaders) if (kept === reader) warmReaders.delete(key);
    reader.close();
    prestartReaderThread();
  }
}

export function registerPackage(program: Command, output: () => Output, context?: WarmContext): void {
  program
    .command("package")
    .description("bundle a flow and package it; prints or writes its manifest")
    .argument("<entry>", "the .ts/.js file that defines the flow")
    .option("--flow <name>", "which flow, when the file defines several")
    .option("--packager <type>", "file | docker", "file")
    .option("-o, --output <file>", "write the manifest here (default: print it)")
    .option("--external <package>", "leave this package out of the bundle (repeatable)", collect, [])
    .option("-e, --env <key[=value]>", "a variable the flow needs while it is loaded here (a placeholder; never packaged; repeatable)", collect, [])
    .option("--env-file <file>", "variables from a dotenv file, only while the flow is loaded here (repeatable; --env wins)", collect, [])
    .option("--include <glob>", "ship the files this glob names (relative to the project) beside the bundle (repeatable)", collect, [])
    .option("-q, --quiet", "no progress on stderr")
    .option("-w, --watch", "package again whenever one of the flow's source files changes, until Ctrl-C")
    .option("--store <dir>", "file: the content-addressed store (default: .flowpack/store in the project)")
    .option("--builder <builder>", "docker: auto | docker | oci (default: auto)")
    .option("--base-image <ref>", "docker: image to build on: a reference, oci:<dir>[:<name>], or host (default node:<major>-bookworm-slim)")
    .option("--dockerfile <path>", "docker: build your own Dockerfile instead")
    .option("--context <dir>", "docker: build context for --dockerfile (default: its folder)")
    .option("--platform <os/arch[,…]>", "docker: target platform(s), e.g. linux/amd64,linux/arm64 (several: oci builder)")
    .option("--image-flow-location <path>", `docker: where the bundle goes in the image (default: ${DEFAULT_IMAGE_FLOW_LOCATION})`)
    .option("--registry <url>", "docker: push here, e.g. ghcr.io/acme/flows (namespace kept)")
    .option("--tag <tag>", "docker: tag to push (default: derived from the image's inputs)")
    .option("--dependencies <mode>", "docker: copy (installed here, own layer; default) | in-image (RUN install)")
    .option("--oci-layout <dir>", "oci builder: write the image into this OCI layout")
    .option("--docker-archive <file>", "oci builder: write a docker-load-able tarball")
    .action(async (entry: string, flags: PackageFlags) => {
      const out = output();
      const progress = createProgressRenderer(process.stderr, flags.quiet || out.json);
      try {
        const packager = createPackager(flags, progress);
        // The manifest's folder is checked now, not once the image has been pushed.
        if (flags.output) checkOutputFile(flags.output, MANIFEST_ROLE);
        const env = await resolveEnv({ pairs: flags.env, files: flags.envFile });
        if (flags.watch) return await watchAndPackage(packager, entry, { ...flags, env }, out, progress);
        const reader = readerFor(context, entry);
        let manifest: PackageManifest;
        try {
          manifest = await packager.package(entry, {
            flowName: flags.flow,
            external: flags.external,
            include: flags.include,
            env,
            ...(reader ? { reader } : {}),
          });
        } finally {
          afterWarmBuild(context, reader);
        }
        progress.done();
        await emit(out, manifest, flags.output);
      } finally {
        progress.done();
      }
    });
}

/**
 * `--watch`: packages, then again each time one of the flow's own source files (or the project's
 * package.json or lockfile) changes, in one process: esbuild, the vendor module, the resolved base
 * image, the registry connection and the loaded packages are all reused, so a rebuild costs about
 * what its changed layer does. A failing rebuild prints its error and waits for the next change;
 * a failing first build ends the command. Ctrl-C stops it (exit 130) and removes its temporary files.
 */
async function watchAndPackage(packager: Packager, entry: string, flags: Omit<PackageFlags, "env"> & { env: Record<string, string> }, out: Output, progress: ProgressListener & { done(): void }): Promise<void> {
  const controller = new AbortController();
  const stopListening = abortOnStopSignals(controller);
  const importer = new BundleImporter();
  let sources: string[] = [];
  const build = async (): Promise<void> => {
    const started = performance.now();
    const manifest = await packager.package(entry, {
      flowName: flags.flow,
      external: flags.external,
      env: flags.env,
      include: flags.include,
      importer,
      onBundle: (bundle) => {
        sources = [...bundle.sources, ...(bundle.assets ?? []).map((asset) => asset.file), ...projectFiles(bundle.projectRoot)];
      },
    });
    progress.done();
    await emit(out, manifest, flags.output);
    out.info(`  built in ${Math.round(performance.now() - started)} ms; watching ${sources.length} files (Ctrl-C to stop)`);
  };
  try {
    let since = Date.now();
    await build();
    for (;;) {
      const changed = await nextChange(sources, { since, signal: controller.signal });
      if (controller.signal.aborted) break;
      out.info(`changed: ${changed.map((file) => relative(process.cwd(), file)).join(", ")}`);
      since = Date.now();
      try {
        await build();
      } catch (error) {
        progress.done();
        if (controller.signal.aborted) break;
        reportError(error, out.debug, out.json); // and keep watching: the next save may fix it
      }
    }
    throw new InterruptedError("interrupted: stopped watching", { signal: stopSignalOf(controller.signal) });
  } finally {
    stopListening();
    await importer.close();
  }
}

/** Files outside the bundle's inputs whose change means a new build: the manifest and lockfiles. */
function projectFiles(projectRoot: string): string[] {
  return ["package.json", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock"].map((name) => join(projectRoot, name)).filter((file) => existsSync(file));
}

function createPackager(flags: PackageFlags, onProgress: ProgressListener): Packager {
  if (flags.packager === "file") {
    const dockerOnly = [
      "builder", "baseImage", "dockerfile", "context", "platform", "imageFlowLocation", "registry", "tag", "dependencies", "ociLayout", "dockerArchive",
    ] as const;
    const misplaced = dockerOnly.filter((k) => flags[k] !== undefined);
    if (misplaced.length > 0) throw new UsageError(`--${kebab(misplaced[0]!)} applies to --packager docker only`);
    return new FilePackager({ store: flags.store, onProgress });
  }
  if (flags.packager === "docker") {
    if (flags.store) throw new UsageError("--store applies to --packager file only");
    if (flags.builder !== undefined && flags.builder !== "auto" && flags.builder !== "docker" && flags.builder !== "oci") {
      throw new UsageError(`unknown --builder ${JSON.stringify(flags.builder)}; known: auto, docker, oci`);
    }
    if (flags.dependencies !== undefined && flags.dependencies !== "copy" && flags.dependencies !== "in-image") {
      throw new UsageError(`unknown --dependencies ${JSON.stringify(flags.dependencies)}; known: copy, in-image`);
    }
    return new DockerPackager({
      baseImage: flags.baseImage,
      dockerfile: flags.dockerfile,
      context: flags.context,
      platform: flags.platform,
      imageFlowLocation: flags.imageFlowLocation,
      registryUrl: flags.registry,
      tag: flags.tag,
      dependencies: flags.dependencies === "in-image" ? "inImage" : flags.dependencies,
      builder: flags.builder,
      ociLayout: flags.ociLayout,
      dockerArchive: flags.dockerArchive,
      onProgress,
    });
  }
  throw new UsageError(`unknown packager ${JSON.stringify(flags.packager)}; known packagers: file, docker`);
}

async function emit(out: Output, manifest: PackageManifest, path: string | undefined): Promise<void> {
  const text = serializeManifest(manifest);
  if (path) {
    await writeOutputFile(path, text, MANIFEST_ROLE);
    const where = manifest.type === "docker" ? manifest.image : manifest.key;
    out.info(`packaged flow "${manifest.flowName}" (${manifest.type}: ${where}) → ${path}`);
    if (out.json) out.result(text);
  } else {
    out.result(text);
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

