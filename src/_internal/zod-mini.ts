/**
 * zod's functional API (`zod/mini`) with English messages, for the schemas on the start-up path of
 * `flowpack run` (manifests, Engine API answers, flag units). The classic API (`z.string().min(1)`)
 * hangs every check and schema kind off each schema's prototype, so a bundle that imports it keeps
 * all of zod (~400 KB of the CLI's `run` chunk); the functional one keeps what is used. Same core,
 * same checks, same issues: the messages are the ones the classic API gives, because English is set
 * here exactly as zod's classic module sets it (only when no locale was chosen before).
 */
import { config } from "zod/mini";
import { globalConfig } from "zod/v4/core";
import en from "zod/v4/locales/en.js";

if (!globalConfig.localeError) config(en());

// Imported as a namespace (`import * as z from "…/zod-mini.js"`) and used by name (`z.string()`), so a
// bundler keeps only what is used; never pass the namespace around as a value.
export * from "zod/mini";
