import { PACKAGE_JSON } from "./package-root.js";

/** This copy of flowpack's version, from its package.json. */
export const FLOWPACK_VERSION: string = PACKAGE_JSON.version;
