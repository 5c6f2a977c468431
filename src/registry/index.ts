// flowpack's OCI distribution (registry) client. Values first, then types.
export { RegistryClient } from "./client.js";
export { DockerKeychain, anonymousKeychain, staticKeychain } from "./keychain.js";
export { defaultRetryPolicy, retryPolicy, parseRetryAfter, backoffDelay } from "./retry.js";
export { MediaType, MANIFEST_MEDIA_TYPES } from "../oci/media-types.js";
export { redactUrl, redactHeaders, redactText } from "./redact.js";
export { parseChallenges } from "./challenge.js";
export { resolveEndpoint, isLoopbackHostname } from "./host.js";
export { computeDigest } from "../oci/digest.js";
export {
  RegistryError,
  RegistryAuthError,
  RegistryUnreachableError,
  RegistryTimeoutError,
  RegistryResponseError,
  DigestMismatchError,
  CredentialHelperError,
} from "./errors.js";

export type { RegistryClientOptions, PingResult } from "./client.js";
export type { BlobSource, PushBlobOptions, PushBlobResult, PushBlobStatus, GetBlobOptions } from "./blobs.js";
export type { BlobBody, BlobBodySource } from "./body.js";
export type { Manifest, ManifestDescriptor } from "./manifests.js";
export type { PushManifestInput, PushManifestResult } from "./push.js";
export type { Credentials, Keychain, DockerKeychainOptions } from "./keychain.js";
export type { RetryPolicy } from "./retry.js";
export type { RegistryProgressEvent, RegistryProgressListener } from "./progress.js";
export type { AuthScheme } from "./auth.js";
export type { Challenge } from "./challenge.js";
export type { RegistryEndpoint } from "./host.js";
