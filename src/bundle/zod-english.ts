import { dirname, join } from "node:path";
import type { Plugin } from "esbuild";

/**
 * An esbuild plugin for flowpack's own bundles (the CLI, the in-image runner): zod's namespace
 * exports every locale (`z.locales`, ~370 KB of the ~780 KB zod puts in a bundle) and esbuild keeps
 * them all, since a namespace can reach them. flowpack's code uses only the English messages, which
 * zod configures itself (`config(en())` in zod's classic module), so `locales/index.js` becomes a
 * module exporting `en` alone: the messages stay exactly the same, the bundle loads faster. Never
 * used for a user's flow bundle (a flow may well use another locale).
 */
export const zodEnglishOnly: Plugin = {
  name: "flowpack-zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]zod[\\/]v4[\\/](classic|core|mini)$/.test(args.resolveDir)) return undefined;
      const locales = join(dirname(args.resolveDir), "locales");
      return { path: join(locales, "index.js"), namespace: "flowpack-zod-english" };
    });
    build.onLoad({ filter: /.*/, namespace: "flowpack-zod-english" }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};
