/**
 * zod schemas for what a registry (error bodies, tag lists), token server, credential helper or
 * docker config hands us; manifests and indexes are parsed with the OCI schemas (oci/image.ts).
 * Parsed at the boundary; the rest of the module works with the typed result.
 */
import { z } from "zod";

/** `{"errors":[{"code":"BLOB_UNKNOWN","message":"…","detail":…}]}` (distribution spec). */
export const errorBodySchema = z.object({
  errors: z.array(
    z.object({
      code: z.string(),
      message: z.string().optional(),
      detail: z.unknown().optional(),
    }),
  ),
});

/** Token server answer; some servers set `token`, some `access_token`, some both. */
export const tokenResponseSchema = z
  .object({
    token: z.string().optional(),
    access_token: z.string().optional(),
    expires_in: z.number().nonnegative().optional(),
    issued_at: z.string().optional(),
    refresh_token: z.string().optional(),
  })
  .refine((t) => Boolean(t.token || t.access_token), { message: "neither token nor access_token is set" });

export const tagListSchema = z.object({
  name: z.string(),
  tags: z.array(z.string()).nullable().optional(),
});

/** `docker-credential-<name> get` output. */
export const helperOutputSchema = z.object({
  ServerURL: z.string().optional(),
  Username: z.string(),
  Secret: z.string(),
});

const authEntrySchema = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});

/** The parts of `~/.docker/config.json` we read. */
export const dockerConfigSchema = z.looseObject({
  auths: z.record(z.string(), authEntrySchema).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});
export type DockerConfig = z.infer<typeof dockerConfigSchema>;

/** "path.to.field: message; …", for error messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
