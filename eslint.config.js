// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

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
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], languageOptions: { globals: { ...globals.node } } },
  { files: ["src/cli/**", "scripts/**", "bench/**", "examples/**", "test/**"], rules: { "no-console": "off" } },
);
