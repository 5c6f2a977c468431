/**
 * Registry-specific errors. All extend RegistryError / RegistryAuthError from src/errors.ts, so a
 * caller can catch the family once; `code` tells them apart. Messages never carry credentials,
 * tokens, Authorization headers or URL query strings (see redact.ts).
 */
import { RegistryAuthError, RegistryError, type FlowpackErrorOptions } from "../errors.js";

export { RegistryAuthError, RegistryError };

export type RegistryErrorOptions = FlowpackErrorOptions & { status?: number; registryCodes?: string[] };

/** The registry (or its token server) could not be reached, or the connection broke mid-request. */
export class RegistryUnreachableError extends RegistryError {
  override readonly code = "REGISTRY_UNREACHABLE";
  /** The Node.js / undici error code behind it (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET …). */
  readonly errno: string | undefined;

  constructor(message: string, options: RegistryErrorOptions & { errno?: string } = {}) {
    super(message, options);
    this.errno = options.errno;
  }
}

/**
 * A registry step made no progress before its deadline (see deadline.ts): the registry (or its
 * token server) accepted the connection but did not answer, or a transfer stalled.
 */
export class RegistryTimeoutError extends RegistryError {
  override readonly code = "REGISTRY_TIMEOUT";
  /** The step that ran out of time: "HEAD blob", "PUT manifest", "upload blob" … */
  readonly step: string;
  /** Its deadline: the longest silence allowed. */
  readonly timeoutMs: number;

  constructor(message: string, options: RegistryErrorOptions & { step: string; timeoutMs: number }) {
    super(message, options);
    this.step = options.step;
    this.timeoutMs = options.timeoutMs;
  }
}

/** Bytes from the registry do not hash to the digest (or size) they were asked for. */
export class DigestMismatchError extends RegistryError {
  override readonly code = "REGISTRY_DIGEST_MISMATCH";
  readonly expected: string;
  readonly actual: string;
  /** The body ended before its Content-Length: a broken transfer rather than wrong content. */
  readonly truncated: boolean;

  constructor(message: string, options: RegistryErrorOptions & { expected: string; actual: string; truncated?: boolean }) {
    super(message, options);
    this.expected = options.expected;
    this.actual = options.actual;
    this.truncated = options.truncated === true;
  }
}

/** The registry answered something that is not what the distribution spec says it should. */
export class RegistryResponseError extends RegistryError {
  override readonly code = "REGISTRY_RESPONSE_INVALID";
}

/** A docker credential helper (`docker-credential-<name>`) is missing, failed or printed garbage. */
export class CredentialHelperError extends RegistryError {
  override readonly code = "REGISTRY_CREDENTIAL_HELPER_FAILED";
  /** The helper program, e.g. `docker-credential-desktop`. */
  readonly helper: string;

  constructor(message: string, options: RegistryErrorOptions & { helper: string }) {
    super(message, options);
    this.helper = options.helper;
  }
}

/**
 * `error` with a note appended to its message, as a copy of the same class and fields whose cause
 * is the original. An error is not changed once thrown: it may be shared (one token fetch awaited
 * by several requests) or already reported.
 */
export function withNote<T extends Error>(error: T, note: string): T {
  const copy = Object.create(Object.getPrototypeOf(error) as object, Object.getOwnPropertyDescriptors(error)) as T;
  const define = (key: string, value: unknown): void => {
    Object.defineProperty(copy, key, { value, writable: true, enumerable: false, configurable: true });
  };
  define("message", `${error.message} (${note})`);
  define("cause", error);
  define("stack", `${copy.name}: ${copy.message}${error.stack?.slice(error.stack.indexOf("\n")) ?? ""}`);
  return copy;
}
