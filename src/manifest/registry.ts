import * as z from "../_internal/zod-mini.js";
import { ManifestError } from "../errors.js";
import type { AnyFlow } from "../flow/flow.js";
import {
  MANIFEST_VERSION,
  dockerManifestSchema,
  fileManifestSchema,
  type DockerPackageManifest,
  type FilePackageManifest,
} from "./schema.js";

/** Manifest types by their `type` field. New packagers add their schema here. */
const MANIFEST_TYPES = {
  docker: dockerManifestSchema,
  file: fileManifestSchema,
} as const;

export type ManifestType = keyof typeof MANIFEST_TYPES;
export type PackageManifest = DockerPackageManifest | FilePackageManifest;
export type ManifestOf<T extends ManifestType> = z.infer<(typeof MANIFEST_TYPES)[T]>;

export const manifestSchema = z.discriminatedUnion("type", [dockerManifestSchema, fileManifestSchema]);

export function knownManifestTypes(): ManifestType[] {
  return Object.keys(MANIFEST_TYPES) as ManifestType[];
}

function isManifestType(value: unknown): value is ManifestType {
  return typeof value === "string" && Object.hasOwn(MANIFEST_TYPES, value);
}

/** Validates a parsed JSON value as a manifest; `source` names it in errors (a file path). */
export function validateManifest(value: unknown, source = "manifest"): PackageManifest {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ManifestError(`${source}: expected a JSON object`);
  }
  const type = (value as { type?: unknown }).type;
  if (!isManifestType(type)) {
    const known = knownManifestTypes().map((t) => `"${t}"`).join(", ");
    throw new ManifestError(
      type === undefined
        ? `${source}: missing field "type"; known types: ${known}`
        : `${source}: unknown manifest type ${JSON.stringify(type)}; known types: ${known}`,
    );
  }
  const result = MANIFEST_TYPES[type].safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    });
    throw new ManifestError(`${source}: invalid ${type} manifest: ${issues.join("; ")}`);
  }
  return result.data;
}

/** Reads manifest JSON text, validating it fully. */
export function parseManifest(json: string, source = "manifest"): PackageManifest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ManifestError(`${source}: not valid JSON: ${(error as Error).message}`);
  }
  return validateManifest(value, source);
}

/** Stable serialisation: schema field order, two-space indent, trailing newline. */
export function serializeManifest(manifest: PackageManifest): string {
  return JSON.stringify(validateManifest(manifest), null, 2) + "\n";
}

/** The manifest schema as JSON Schema (draft 2020-12), as published by `flowpack schema manifest`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $id: "https://flowpack.dev/schema/manifest-v1.json",
    title: "flowpack package manifest",
    ...(z.toJSONSchema(manifestSchema, { target: "draft-2020-12" }) as Record<string, unknown>),
  };
}

type TypeFields<T extends ManifestType> = Omit<ManifestOf<T>, "type" | "manifestVersion" | "flowName" | "flowParameterSchema">;

/** The common fields filled in; `finalize` adds the packager's own and validates the whole. */
export interface PartialManifest<T extends ManifestType> {
  readonly type: T;
  readonly fields: Readonly<Record<string, unknown>>;
  finalize(fields: TypeFields<T>): ManifestOf<T>;
}

export function baseManifest<T extends ManifestType>(type: T, flow: Pick<AnyFlow, "name" | "parameterSchema">): PartialManifest<T> {
  const base = {
    type,
    manifestVersion: MANIFEST_VERSION,
    flowName: flow.name,
    flowParameterSchema: flow.parameterSchema(),
  };
  const allowed = new Set(Object.keys(MANIFEST_TYPES[type].shape));
  return {
    type,
    fields: base,
    finalize(fields) {
      for (const key of Object.keys(fields)) {
        if (Object.hasOwn(base, key)) throw new ManifestError(`manifest field "${key}" is already set`);
        if (!allowed.has(key)) throw new ManifestError(`"${key}" is not a field of ${type} manifests`);
      }
      return validateManifest({ ...base, ...fields }, `${type} manifest`) as ManifestOf<T>;
    },
  };
}
