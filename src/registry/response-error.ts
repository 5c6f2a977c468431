/**
 * Turns an unexpected registry (or token server) response into a RegistryError: status, the
 * spec's error codes from the JSON body, and a message that says what failed where. 401/403 become
 * RegistryAuthError with a "how to fix" hint. All text is redacted.
 */
import { STATUS_CODES } from "node:http";
import { RegistryAuthError, RegistryError } from "./errors.js";
import { destroyQuietly, discard, readBody, type HttpResponse } from "./http.js";
import type { Action } from "./names.js";
import type { SecretSet } from "./redact.js";
import { redactUrl } from "./redact.js";
import { errorBodySchema } from "./schemas.js";

export interface ErrorContext {
  /** Registry name, e.g. `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** The registry's origin; URLs on it are shown as paths. */
  origin: string;
  method: string;
  /** "registry ghcr.io" or "token server auth.example.com". */
  target: string;
  repository?: string | undefined;
  action?: Action | undefined;
  /** Where the credentials we sent came from; undefined when we had none. */
  credentialSource?: string | undefined;
  /** Where credentials are looked up (docker config path), for hints. */
  keychain?: string | undefined;
  secrets: SecretSet;
  signal?: AbortSignal | undefined;
}

const MAX_ERROR_BODY = 64 * 1024;

export interface ParsedErrorBody {
  codes: string[];
  /** "CODE: message; CODE: message", or a short excerpt of a non-JSON body. */
  summary: string;
}

export function parseErrorBody(text: string): ParsedErrorBody {
  const trimmed = text.trim();
  if (!trimmed) return { codes: [], summary: "" };
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    json = undefined;
  }
  const parsed = errorBodySchema.safeParse(json);
  if (parsed.success && parsed.data.errors.length > 0) {
    const codes = parsed.data.errors.map((e) => e.code);
    const summary = parsed.data.errors
      .slice(0, 5)
      .map((e) => {
        const detail = typeof e.detail === "string" && e.detail.length <= 200 ? ` (${e.detail})` : "";
        return `${e.code}${e.message ? `: ${e.message}` : ""}${detail}`;
      })
      .join("; ");
    return { codes, summary };
  }
  // Not the spec's shape: a short single-line excerpt, JSON or not (e.g. an HTML error page).
  const line = trimmed.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  return { codes: [], summary: line.length > 200 ? `${line.slice(0, 200)}…` : line };
}

function describeUrl(url: URL, origin: string): string {
  return url.origin === origin ? url.pathname : redactUrl(url);
}

function accessPhrase(ctx: ErrorContext): string {
  if (!ctx.repository) return "access it";
  return ctx.action === "push" ? `push to ${ctx.repository}` : `pull from ${ctx.repository}`;
}

export function authError(status: number, ctx: ErrorContext, codes: string[], summary: string): RegistryAuthError {
  const host = ctx.registry;
  const login = `docker login ${host}`;
  const suffix = summary ? ` (${status}: ${ctx.secrets.redact(summary)})` : ` (${status})`;
  if (status === 403) {
    return new RegistryAuthError(
      `${ctx.target} denied access: cannot ${accessPhrase(ctx)}${ctx.credentialSource ? ` with the credentials from ${ctx.credentialSource}` : " anonymously"}${suffix}`,
      {
        status,
        registryCodes: codes,
        hint: ctx.credentialSource
          ? `check that this account may ${accessPhrase(ctx)}, or log in as another user: ${login}`
          : `log in with an account that may ${accessPhrase(ctx)}: ${login}`,
      },
    );
  }
  if (!ctx.credentialSource) {
    return new RegistryAuthError(
      `${ctx.target} requires authentication to ${accessPhrase(ctx)}, and no credentials were found for ${host}${suffix}`,
      {
        status,
        registryCodes: codes,
        hint: `run "${login}"${ctx.keychain ? ` (flowpack reads ${ctx.keychain}; set DOCKER_CONFIG to use another directory)` : ""}`,
      },
    );
  }
  return new RegistryAuthError(
    `${ctx.target} rejected the credentials from ${ctx.credentialSource} (needed to ${accessPhrase(ctx)})${suffix}`,
    {
      status,
      registryCodes: codes,
      hint: `check the user name and password/token: run "${login}" again`,
    },
  );
}

/** Reads (a bounded part of) the body and builds the error. Never includes the query string. */
export async function errorFromResponse(res: HttpResponse, ctx: ErrorContext): Promise<RegistryError> {
  let text = "";
  if (ctx.method !== "HEAD") {
    try {
      text = (await readBody(res, MAX_ERROR_BODY, "error body", ctx.target, ctx.method, ctx.signal)).toString("utf8");
    } catch {
      destroyQuietly(res.body);
    }
  } else {
    await discard(res.body);
  }
  const { codes, summary } = parseErrorBody(text);
  if (res.status === 401 || res.status === 403) return authError(res.status, ctx, codes, summary);
  const statusText = STATUS_CODES[res.status] ?? "";
  const detail = summary ? `: ${ctx.secrets.redact(summary)}` : "";
  return new RegistryError(
    `${ctx.target}: ${ctx.method} ${describeUrl(res.url, ctx.origin)} answered ${res.status}${statusText ? ` ${statusText}` : ""}${detail}`,
    { status: res.status, registryCodes: codes },
  );
}
