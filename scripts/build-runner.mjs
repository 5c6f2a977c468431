// Part of `npm run build`: writes dist/runner.mjs, the in-image entrypoint, once per build.
import { writePrebuiltRunner } from "../dist/run/runner-bundle.js";

const path = await writePrebuiltRunner();
console.error(`runner: ${path}`);
