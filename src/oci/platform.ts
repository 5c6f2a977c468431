import { ImageFormatError } from "../errors.js";
import type { ImageConfig, Platform } from "./image.js";

/** Platforms: `os/arch[/variant]` as text, matching, and this machine's. */

const PLATFORM_PART = /^[a-z0-9][a-z0-9._-]*$/;

/** `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7` → Platform. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PLATFORM_PART.test(p))) {
    throw new ImageFormatError(`invalid platform ${JSON.stringify(text)}: expected os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}

/** Default variants, so `linux/arm64` and `linux/arm64/v8` compare equal. */
function normalisedVariant(platform: Platform): string | undefined {
  if (platform.variant) return platform.variant;
  if (platform.architecture === "arm64") return "v8";
  if (platform.architecture === "arm") return "v7";
  return undefined;
}

/** True when an image for `candidate` runs on `wanted` (os, architecture and variant agree). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  return (
    wanted.os === candidate.os &&
    wanted.architecture === candidate.architecture &&
    normalisedVariant(wanted) === normalisedVariant(candidate)
  );
}

/** The platform an image's config says it is built for. */
export function configPlatform(config: ImageConfig): Platform {
  return config.variant === undefined ? { os: config.os, architecture: config.architecture } : { os: config.os, architecture: config.architecture, variant: config.variant };
}

/**
 * Refuses an image whose config is not for `wanted`: os and architecture must agree, and the
 * variant too when the config gives one. `what` names the image in the error.
 */
export function checkConfigPlatform(config: ImageConfig, wanted: Platform, what: string): void {
  const actual = configPlatform(config);
  const matches = actual.variant === undefined ? actual.os === wanted.os && actual.architecture === wanted.architecture : platformMatches(wanted, actual);
  if (!matches) {
    throw new ImageFormatError(`${what} is built for ${formatPlatform(actual)}, not ${formatPlatform(wanted)}`, {
      hint: `use a base image that has ${formatPlatform(wanted)} (a multi-platform index), or build for ${formatPlatform(actual)}`,
    });
  }
}

/** Node's `process.arch` → OCI (GOARCH) architecture names. */
const ARCHITECTURES: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

export function ociArchitecture(nodeArch: string): string {
  const arch = ARCHITECTURES[nodeArch];
  if (arch === undefined) throw new ImageFormatError(`Node architecture ${JSON.stringify(nodeArch)} has no OCI name`);
  return arch;
}

/**
 * The container platform matching this machine's CPU. The OS is `linux` unless given: flowpack
 * builds Linux images even on macOS and Windows hosts (which run them in a Linux VM).
 */
export function hostPlatform(options: { os?: string; arch?: string; armVersion?: string | number } = {}): Platform {
  const architecture = ociArchitecture(options.arch ?? process.arch);
  const os = options.os ?? "linux";
  if (architecture === "arm64") return { os, architecture, variant: "v8" };
  if (architecture === "arm") {
    const version = options.armVersion ?? (process.config.variables as { arm_version?: string | number }).arm_version ?? 7;
    return { os, architecture, variant: `v${String(version)}` };
  }
  return { os, architecture };
}
