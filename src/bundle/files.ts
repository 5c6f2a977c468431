// The names and the one text edit that loading a bundle needs, apart from the bundler itself: a run
// (file manifest, OCI layout, the in-image runner) imports these without loading esbuild.

/** File name of the bundle inside packages and images; the map sits beside it. */
export const BUNDLE_FILE = "flow.mjs";

/** File name of the vendor module beside a bundle (the npm packages the flow imports, bundled apart). */
export const VENDOR_FILE = "flowpack-vendor.mjs";

/** The bundle's code with its closing `//# sourceMappingURL=` comment pointing at `mapName`. */
export function withSourceMapName(code: Buffer, mapName: string): Buffer {
  return Buffer.from(code.toString("utf8").replace(/(?<=^|\n)\/\/# sourceMappingURL=[^\r\n]*(?=\s*$)/, `//# sourceMappingURL=${mapName}`));
}
