// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import boundaries from "eslint-plugin-boundaries";

/**
 * The layering, lowest first; a folder may import its own layer and the ones below it, never above:
 *   ground (errors, progress, _internal) ← oci ← registry, store, bundle ← image, flow, environment
 *   ← engine, manifest ← packagers ← run ← export ← cli (and index.ts, the public API, above all)
 * (README: Architecture.) Checked on every lint; a violation names both files.
 */
const LAYERS = [
  ["ground", ["src/_internal/**"]],
  ["oci", ["src/oci/**"]],
  ["registry", ["src/registry/**"]],
  ["store", ["src/store/**"]],
  ["bundle", ["src/bundle/**"]],
  ["image", ["src/image/**"]],
  ["flow", ["src/flow/**"]],
  ["environment", ["src/environment/**"]],
  ["engine", ["src/engine/**"]],
  ["manifest", ["src/manifest/**"]],
  ["packagers", ["src/packagers/**"]],
  ["run", ["src/run/**"]],
  ["export", ["src/export/**"]],
  ["cli", ["src/cli/**"]],
  // Last, so that it only takes what no folder above took: the files directly in src/, errors.ts and
  // progress.ts (index.ts, the public API, is left out below).
  ["ground", ["src"]],
];
/** What each layer may import besides itself. */
const MAY_IMPORT = {
  ground: [],
  oci: ["ground"],
  registry: ["ground", "oci"],
  store: ["ground", "oci"],
  bundle: ["ground", "oci"],
  image: ["ground", "oci", "registry"],
  flow: ["ground", "oci", "bundle"],
  environment: ["ground", "oci", "bundle"],
  engine: ["ground", "oci", "registry", "image"],
  manifest: ["ground", "oci", "flow"],
  packagers: ["ground", "oci", "registry", "store", "bundle", "image", "flow", "environment", "engine", "manifest"],
  run: ["ground", "oci", "registry", "store", "bundle", "image", "flow", "environment", "engine", "manifest", "packagers"],
  export: ["ground", "oci", "registry", "store", "bundle", "image", "flow", "environment", "engine", "manifest", "packagers", "run"],
  cli: ["ground", "oci", "registry", "store", "bundle", "image", "flow", "environment", "engine", "manifest", "packagers", "run", "export"],
};

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "**/node_modules/**", "bench/results/**", "**/.flowpack/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": ["error", { allow: ["error", "warn"] }],
    },
  },
  {
    files: ["src/**/*.ts"],
    plugins: { boundaries },
    settings: {
      "import/resolver": { typescript: { project: "tsconfig.json" } },
      "boundaries/include": ["src/**/*.ts"],
      // The public API re-exports every layer; nothing in src/ may import it (no-restricted-imports below).
      "boundaries/ignore": ["src/index.ts"],
      "boundaries/elements": LAYERS.map(([type, pattern]) => ({ type, pattern, partialMatch: false })),
    },
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "^(\\.\\./)+index\\.js$|^\\./index\\.js$", message: "index.ts is the public API: import the module that defines the name" }] }],
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          policies: Object.keys(MAY_IMPORT).map((type) => ({
            from: { element: { type } },
            allow: { to: { element: { types: { anyOf: [type, ...MAY_IMPORT[type]] } } } },
          })),
        },
      ],
    },
  },
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], languageOptions: { globals: { ...globals.node } } },
  { files: ["src/cli/**", "scripts/**", "bench/**", "examples/**", "test/**"], rules: { "no-console": "off" } },
);
