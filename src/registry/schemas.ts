/**
 * zod schemas for what a registry (error bodies, tag lists), token server, credential helper or
 * docker config hands us; manifests and indexes are parsed with the OCI schemas (oci/image.ts).
 * Parsed at the boundary; the rest of the module works with the typed result.
 */
import * as z from "../_internal/zod-mini.js";

/** `{"errors":[{"code":"BLOB_UNKNOWN","message":"…","detail":…}]}` (distribution spec). */
export const errorBodySchema = z.object({
  errors: z.array(
    z.object({
      code: z.string(),
      message: z.optional(z.string()),
      detail: z.optional(z.unknown()),
    }),
  ),
});

/** Token server answer; some servers set `token`, some `access_token`, some both. */
export const tokenResponseSchema = z
  .object({
    token: z.optional(z.string()),
    access_token: z.optional(z.string()),
    expires_in: z.optional(z.number().check(z.nonnegative())),
    issued_at: z.optional(z.string()),
    refresh_token: z.optional(z.string()),
  })
  .check(z.refine((t) => Boolean(t.token || t.access_token), { message: "neither token nor access_token is set" }));

export const tagListSchema = z.object({
  name: z.string(),
  tags: z.optional(z.nullable(z.array(z.string()))),
});

/** `docker-credential-<name> get` output. */
export const helperOutputSchema = z.object({
  ServerURL: z.optional(z.string()),
  Username: z.string(),
  Secret: z.string(),
});

const authEntrySchema = z.looseObject({
  auth: z.optional(z.string()),
  username: z.optional(z.string()),
  password: z.optional(z.string()),
  identitytoken: z.optional(z.string()),
  registrytoken: z.optional(z.string()),
});

/** The parts of `~/.docker/config.json` we read. */
export const dockerConfigSchema = z.looseObject({
  auths: z.optional(z.record(z.string(), authEntrySchema)),
  credHelpers: z.optional(z.record(z.string(), z.string())),
  credsStore: z.optional(z.string()),
});
export type DockerConfig = z.infer<typeof dockerConfigSchema>;

/** "path.to.field: message; …", for error messages. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
