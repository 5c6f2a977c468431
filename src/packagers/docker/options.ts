import { existsSync, statSync } from "node:fs";
import { posix, resolve } from "node:path";
import * as z from "../../_internal/zod-mini.js";
import { VENDOR_FILE } from "../../bundle/vendor.js";
import { absolutePosixPathSchema } from "../../manifest/schema.js";
import { NodeEnvironment } from "../../environment/node.js";
import { ConfigError, ImageReferenceError, PackagerOptionsError } from "../../errors.js";
import { parsePlatform } from "../../oci/platform.js";
import type { Platform } from "../../oci/image.js";
import { parseReference, PATH_COMPONENT_RULE, TAG_RULE } from "../../oci/reference.js";
import type { PathRole } from "../../_internal/fs-errors.js";
import { checkOutputFile, checkOutputFolder } from "../../_internal/path-checks.js";
import type { ProgressListener } from "../../progress.js";

export const DEFAULT_IMAGE_FLOW_LOCATION = "/opt/flowpack/flow.mjs";

/** The oci builder's file outputs, for file-system errors about them. */
export const OCI_LAYOUT_ROLE: PathRole = { action: "write the OCI layout", owner: "user", hint: "or choose another --oci-layout folder" };
export const DOCKER_ARCHIVE_ROLE: PathRole = { action: "write the docker archive", owner: "user", hint: "or choose another --docker-archive file" };

export interface DockerPackagerOptions {
  /** Image to build on. Default: `node:<this machine's node major>-bookworm-slim` (or the environment's variant). */
  baseImage?: string;
  /** The runtime the flow needs; detected from the flow's project when a base image is used. */
  environment?: NodeEnvironment;
  /** Build with your own Dockerfile instead (it must place the bundle at `imageFlowLocation`). */
  dockerfile?: string;
  /** Build context for `dockerfile`. Default: the Dockerfile's folder. */
  context?: string;
  /** e.g. `linux/amd64`, or several comma-separated (oci builder) for a multi-platform index. Default: this machine's. */
  platform?: string;
  /** `auto` (default): the Engine when a Dockerfile is given, else oci. `docker`: a Docker Engine. `oci`: no daemon. */
  builder?: "auto" | "docker" | "oci";
  /** oci builder: also (or only) write the image into this OCI layout folder. */
  ociLayout?: string;
  /** oci builder: also (or only) write a `docker load`-able tarball here. */
  dockerArchive?: string;
  /** Where the flow bundle goes in the image. Absolute. Default `/opt/flowpack/flow.mjs`. */
  imageFlowLocation?: string;
  /** Push here: `ghcr.io/acme/flows` → `ghcr.io/acme/flows/<flow-slug>`. No scheme → https. */
  registryUrl?: string;
  /** Tag to push. Default: derived from the image's inputs (same inputs, same tag). */
  tag?: string;
  /** `copy` (default): installed on this machine, copied in as their own layer. `inImage`: `RUN <install>` in the image. */
  dependencies?: "copy" | "inImage";
  onProgress?: ProgressListener;
  /**
   * Deadline of each registry step of the oci builder (resolve the base, push a blob, put a
   * manifest …), in seconds of silence: a step fails once this long passes with no bytes moving.
   * Default: $FLOWPACK_REGISTRY_TIMEOUT, else 30.
   */
  registryTimeout?: number;
  /** Environment for DOCKER_HOST, DOCKER_CONFIG, … Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** The longest registry step deadline accepted, in seconds (one hour). */
const MAX_REGISTRY_TIMEOUT = 3600;
const registryTimeoutSchema = z.number().check(z.positive("must be > 0 seconds"), z.maximum(MAX_REGISTRY_TIMEOUT, `must be at most ${MAX_REGISTRY_TIMEOUT} seconds`));
const registryTimeoutEnvSchema = z.pipe(
  z.pipe(z.string().check(z.trim(), z.regex(/^\d+(\.\d+)?$/, "expected a number of seconds, e.g. 30 or 2.5")), z.transform(Number)),
  registryTimeoutSchema,
);

/** The registry step deadline in ms: the option, else FLOWPACK_REGISTRY_TIMEOUT, else undefined (the client's default). */
function registryTimeoutMs(option: number | undefined, env: NodeJS.ProcessEnv): number | undefined {
  if (option !== undefined) return option * 1000;
  const raw = env.FLOWPACK_REGISTRY_TIMEOUT;
  if (raw === undefined || raw === "") return undefined;
  const parsed = registryTimeoutEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`FLOWPACK_REGISTRY_TIMEOUT=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join("; ")}`, {
      hint: `the registry step deadline in seconds, > 0 and ≤ ${MAX_REGISTRY_TIMEOUT} (default 30)`,
    });
  }
  return parsed.data * 1000;
}

const TAG = new RegExp(`^${TAG_RULE}$`);
const PATH_COMPONENT = new RegExp(`^${PATH_COMPONENT_RULE}$`);

const nonEmpty = () => z.optional(z.string().check(z.minLength(1)));

const optionsSchema = z.strictObject({
  baseImage: nonEmpty(),
  environment: z.optional(z.instanceof(NodeEnvironment)),
  dockerfile: nonEmpty(),
  context: nonEmpty(),
  platform: z.optional(
    z.string().check(z.regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?(,[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?)*$/, "expected os/arch[/variant][,…], e.g. linux/amd64,linux/arm64")),
  ),
  builder: z.optional(z.enum(["auto", "docker", "oci"])),
  ociLayout: nonEmpty(),
  dockerArchive: nonEmpty(),
  imageFlowLocation: z.optional(
    absolutePosixPathSchema.check(
      z.refine((path: string) => !posix.basename(path).startsWith(VENDOR_FILE), `${VENDOR_FILE} is the name of the vendored packages' module beside the flow; pick another file name`),
    ),
  ),
  registryUrl: nonEmpty(),
  tag: z.optional(z.string().check(z.regex(TAG, "tags are letters, digits, '_', '.', '-' (≤ 128, not starting with '.' or '-')"))),
  dependencies: z.optional(z.enum(["copy", "inImage"])),
  onProgress: z.optional(z.function()),
  registryTimeout: z.optional(registryTimeoutSchema),
  env: z.optional(z.record(z.string(), z.optional(z.string()))),
});

/** `host` and `oci:<dir>` are bases only the oci builder can use; anything else must be an image reference. */
function checkBaseImage(baseImage: string, builder: "docker" | "oci"): void {
  const special = baseImage === "host" || baseImage.startsWith("oci:");
  if (special && builder === "docker") {
    throw new PackagerOptionsError(`baseImage ${JSON.stringify(baseImage)} is for the oci builder; the Docker Engine builds FROM an image reference`, {
      hint: "use --builder oci, or a base such as node:20-bookworm-slim",
    });
  }
  if (!special) {
    try {
      parseReference(baseImage);
    } catch (error) {
      if (!(error instanceof ImageReferenceError)) throw error;
      throw new ImageReferenceError(`baseImage: ${error.message}`, { hint: error.hint });
    }
  }
}

/** A registry URL split into what the daemon and the registry client need. */
export interface RegistryTarget {
  /** `https://ghcr.io/acme/flows` as given, scheme added. */
  url: string;
  /** `ghcr.io`, `127.0.0.1:5000`. */
  host: string;
  /** `acme/flows` or "" */
  namespace: string;
  insecure: boolean;
  /** `https://` written explicitly: https even for a loopback host. */
  secure: boolean;
}

/**
 * `ghcr.io/acme/flows` → https, host ghcr.io, namespace acme/flows. The path is the repository
 * namespace (Prefect dropped it). `http://` marks a plain-HTTP registry.
 */
export function parseRegistryUrl(value: string): RegistryTarget {
  const withScheme = value.includes("://") ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new PackagerOptionsError(`registryUrl: ${JSON.stringify(value)} is not a registry URL`, { hint: "e.g. ghcr.io/acme/flows or http://127.0.0.1:5000" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new PackagerOptionsError(`registryUrl: unsupported scheme ${url.protocol} (use https:// or http://)`);
  }
  if (url.username || url.password) {
    throw new PackagerOptionsError("registryUrl must not contain credentials; use docker login (the docker config) instead");
  }
  if (url.search || url.hash) throw new PackagerOptionsError("registryUrl: no query string or fragment, please");
  const namespace = url.pathname.replace(/^\/+|\/+$/g, "");
  if (namespace && !namespace.split("/").every((c) => PATH_COMPONENT.test(c))) {
    throw new PackagerOptionsError(`registryUrl: namespace "${namespace}" must be lowercase path components (a-z, 0-9, separators . _ -)`);
  }
  return {
    url: `${url.protocol}//${url.host}${namespace ? `/${namespace}` : ""}`,
    host: url.host,
    namespace,
    insecure: url.protocol === "http:",
    secure: value.includes("://") && url.protocol === "https:",
  };
}

export interface ResolvedDockerOptions {
  baseImage: string | undefined;
  environment: NodeEnvironment | undefined;
  dockerfile: string | undefined;
  context: string | undefined;
  platforms: Platform[] | undefined;
  builder: "docker" | "oci";
  ociLayout: string | undefined;
  dockerArchive: string | undefined;
  imageFlowLocation: string;
  registry: RegistryTarget | undefined;
  tag: string | undefined;
  dependencies: "copy" | "inImage";
  onProgress: ProgressListener | undefined;
  /** Registry step deadline (ms); undefined: the registry client's default. */
  registryTimeoutMs: number | undefined;
  env: NodeJS.ProcessEnv;
}

/**
 * The seed's validators, fixed: (a) neither base image nor Dockerfile → the official node image for
 * the environment; (b) both → an error naming both; (c) base image without environment → detected
 * later from the flow's project (needs the bundle); (d) registry URL scheme and namespace kept;
 * a relative Dockerfile path resolves against the working directory.
 */
export function resolveDockerOptions(options: DockerPackagerOptions): ResolvedDockerOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`);
    throw new PackagerOptionsError(`invalid DockerPackager options: ${issues.join("; ")}`);
  }
  const o = parsed.data;
  if (o.baseImage && o.dockerfile) {
    throw new PackagerOptionsError("give either baseImage (--base-image) or dockerfile (--dockerfile), not both", {
      hint: "a Dockerfile chooses its own base in FROM",
    });
  }
  if (o.context && !o.dockerfile) throw new PackagerOptionsError("context (--context) only applies with dockerfile (--dockerfile)");
  if (o.dependencies && o.dockerfile) throw new PackagerOptionsError("dependencies only applies when flowpack writes the Dockerfile (no --dockerfile)");
  const builder = o.builder === "docker" || o.builder === "oci" ? o.builder : o.dockerfile ? "docker" : "oci";
  const platforms = o.platform?.split(",").map(parsePlatform);
  if (builder === "oci") {
    if (o.dockerfile) throw new PackagerOptionsError("the oci builder cannot build a Dockerfile; use --builder docker (or auto)");
    if (o.dependencies === "inImage") {
      throw new PackagerOptionsError("in-image dependency installs need a Docker Engine (RUN); use --builder docker, or the default copy mode");
    }
  } else {
    if (o.ociLayout || o.dockerArchive) throw new PackagerOptionsError("--oci-layout and --docker-archive are outputs of the oci builder (--builder oci)");
    if (platforms && platforms.length > 1) {
      throw new PackagerOptionsError("the Docker Engine builder builds one platform at a time; use --builder oci for several");
    }
  }
  let dockerfile: string | undefined;
  if (o.dockerfile) {
    dockerfile = resolve(o.dockerfile);
    if (!existsSync(dockerfile) || !statSync(dockerfile).isFile()) {
      throw new PackagerOptionsError(`dockerfile: ${o.dockerfile} not found`);
    }
  }
  // Output paths are checked now, before anything is bundled, built or pushed.
  if (o.ociLayout) checkOutputFolder(o.ociLayout, OCI_LAYOUT_ROLE);
  if (o.dockerArchive) checkOutputFile(o.dockerArchive, DOCKER_ARCHIVE_ROLE);
  const env = (o.env as NodeJS.ProcessEnv | undefined) ?? process.env;
  const baseImage = o.dockerfile ? undefined : (o.baseImage ?? (o.environment ?? undefined)?.defaultBaseImage() ?? `node:${process.versions.node.split(".")[0]}-bookworm-slim`);
  if (baseImage !== undefined) checkBaseImage(baseImage, builder);
  return {
    baseImage,
    environment: o.environment,
    dockerfile,
    context: o.context ? resolve(o.context) : undefined,
    platforms,
    builder,
    ociLayout: o.ociLayout ? resolve(o.ociLayout) : undefined,
    dockerArchive: o.dockerArchive ? resolve(o.dockerArchive) : undefined,
    imageFlowLocation: o.imageFlowLocation ?? DEFAULT_IMAGE_FLOW_LOCATION,
    registry: o.registryUrl ? parseRegistryUrl(o.registryUrl) : undefined,
    tag: o.tag,
    dependencies: o.dependencies ?? "copy",
    onProgress: o.onProgress as ProgressListener | undefined,
    registryTimeoutMs: registryTimeoutMs(o.registryTimeout, env),
    env,
  };
}
