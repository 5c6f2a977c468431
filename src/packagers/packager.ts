import type { PackageManifest } from "../manifest/registry.js";
import type { PackageOptions, PackageTarget } from "./source.js";

/** Turns a flow into a package and returns the manifest that runs it again. */
export interface Packager<M extends PackageManifest = PackageManifest> {
  readonly type: M["type"];
  package(target: PackageTarget, options?: PackageOptions): Promise<M>;
}
