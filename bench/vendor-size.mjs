#!/usr/bin/env node
// What tree-shaking or minifying the vendor module could save on the service workload (issue 13):
// esbuild bundles the workload's packages four ways and prints the module size (raw and gzipped)
// and the biggest packages in it.
//   whole       every package kept whole (what the vendor module does: import * / require)
//   named       only the names flow.mjs and lib/ import (import { S3Client } … / default imports)
//   named+esm   the same, preferring packages' ES builds (mainFields module, main)
//   whole+ws    whole, whitespace and syntax minified (identifiers kept)
//   whole+min   whole, minified (whitespace, syntax and identifiers; names kept)
// The source map (without sources) ships in the vendor layer beside the module, so its size counts.
//
//   node bench/vendor-size.mjs [$FLOWPACK_BENCH_WORK/install/service]
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import * as esbuild from "esbuild";

const dir = resolve(process.argv[2] ?? join(process.env.FLOWPACK_BENCH_WORK ?? "/tmp/flowpack-bench", "install", "service"));
// what the service workload imports (bench/workloads/service/flow.mjs and lib/*.mjs)
const imports = {
  ajv: "default", handlebars: "default", yaml: "default", lodash: "default", axios: "default", express: "default", pino: "default",
  luxon: "DateTime", "@aws-sdk/client-s3": "S3Client,PutObjectCommand", "date-fns": "addDays,formatISO", "rxjs/operators": "bufferCount,map,reduce",
  rxjs: "from,lastValueFrom", uuid: "v5", zod: "z",
};
const entries = Object.entries(imports);
const whole = entries.map(([m], i) => `import * as m${i} from ${JSON.stringify(m)}; globalThis.k${i} = m${i};`).join("\n");
const named = entries
  .map(([m, n], i) =>
    n === "default"
      ? `import d${i} from ${JSON.stringify(m)}; globalThis.k${i} = d${i};`
      : `import { ${n.split(",").map((x, j) => `${x} as n${i}_${j}`).join(", ")} } from ${JSON.stringify(m)}; globalThis.k${i} = [${n.split(",").map((_, j) => `n${i}_${j}`).join(", ")}];`,
  )
  .join("\n");
const variants = [
  ["whole", whole, {}],
  ["named", named, {}],
  ["named+esm", named, { mainFields: ["module", "main"] }],
  ["whole+ws", whole, { minifyWhitespace: true, minifySyntax: true }],
  ["whole+min", whole, { minify: true }],
];
for (const [name, contents, extra] of variants) {
  const r = await esbuild.build({ stdin: { contents, resolveDir: dir }, absWorkingDir: dir, bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "silent", keepNames: true, sourcemap: "external", sourcesContent: false, outfile: "vendor.mjs", ...extra });
  const code = r.outputFiles.find((f) => f.path.endsWith(".mjs")).contents;
  const map = r.outputFiles.find((f) => f.path.endsWith(".map")).contents;
  const per = {};
  for (const [file, output] of Object.entries(r.metafile.outputs)) {
    if (file.endsWith(".map")) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = input.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1] ?? "(entry)";
      per[pkg] = (per[pkg] ?? 0) + bytesInOutput;
    }
  }
  const top = Object.entries(per).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${Math.round(v / 1024)} KiB`).join(", ");
  const mib = (n) => (n / 2 ** 20).toFixed(2);
  console.log(`${name.padEnd(10)} ${mib(code.length)} MiB (${mib(gzipSync(code).length)} gzipped), map ${mib(map.length)} MiB (${mib(gzipSync(map).length)} gzipped): ${top}`);
}
