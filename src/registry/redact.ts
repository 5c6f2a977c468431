/**
 * Redaction used by every message and log line this module produces: URLs lose userinfo, query
 * string and fragment (upload locations carry state tokens), Authorization-like headers are
 * masked, and known secrets (passwords, base64 auth, tokens) are replaced wherever they appear.
 */

export const REDACTED = "<redacted>";

const SENSITIVE_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-registry-auth",
  "x-registry-config",
]);

/** `scheme://host[:port]/path`, without userinfo, query or fragment. Never throws. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    // Not an absolute URL: cut at the first ? or #, and drop anything that looks like userinfo.
    const text = String(url).split(/[?#]/, 1)[0] ?? "";
    return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** A copy of the headers with credential-bearing ones masked (names compared case-insensitively). */
export function redactHeaders(
  headers: Record<string, string | string[] | number | undefined>,
): Record<string, string | string[] | number | undefined> {
  const out: Record<string, string | string[] | number | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SENSITIVE_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
  }
  return out;
}

const AUTH_SCHEME_VALUE = /\b(Basic|Bearer|Token)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
const SECRET_JSON_FIELD =
  /("(?:token|access_token|refresh_token|identitytoken|registrytoken|password|secret|auth)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]+/gi;

/**
 * Free text (an upstream error message, a helper's stderr) made safe to show: known secrets,
 * Authorization values, secret-looking JSON fields and URL query strings are removed.
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out
    .replace(AUTH_SCHEME_VALUE, `$1 ${REDACTED}`)
    .replace(SECRET_JSON_FIELD, `$1"${REDACTED}"`)
    .replace(URL_IN_TEXT, (match) => redactUrl(match));
}

/**
 * The secrets one client knows about (credentials it resolved, tokens it received), so that text
 * coming back from a server is scrubbed of them even if the server echoes them.
 */
export class SecretSet {
  readonly #secrets = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (!value || value.length < 4) continue;
      this.#secrets.add(value);
      // The forms a secret commonly takes on the wire.
      this.#secrets.add(encodeURIComponent(value));
      this.#secrets.add(Buffer.from(value).toString("base64"));
    }
  }

  redact(text: string): string {
    return redactText(text, [...this.#secrets].sort((a, b) => b.length - a.length));
  }
}
