/**
 * The credential list: paths inside a package's folder that never go into an image, whatever
 * else selects them. It is deliberately broad — a package needs none of these at run time — and
 * matched on POSIX paths relative to the package folder, case-insensitively.
 *
 * A path is a credential when
 *  - one of its segments is a credential folder (`.aws`, `.ssh`, `.git`, …) or a credential
 *    folder pair (`.config/gcloud`, …): everything below it goes, and the name itself when it is a file;
 *  - its file name is a known credential file (`.git-credentials`, `.pgpass`, `credentials.json`, …);
 *  - its file name matches a credential pattern: env files (`.env`, `.env.*`, `.envrc`, `*.env`),
 *    keys and keystores (`*.pem`, `*.key`, `*.p12`, …), ssh keys (`id_rsa`, …), terraform state,
 *    cloud service-account JSON, shell histories.
 *
 * Ordinary code and data whose names merely contain such words stay: `src/environment.ts`,
 * `keyboard.js`, `lib/credentials.js` and `lib/credentials/` (code), `tokens.json` (design tokens).
 * `token.json` goes: it is where Google's API quickstarts keep an OAuth refresh token.
 */

/** Folders that hold credentials (cloud CLIs, ssh, gpg, VCS metadata, docker/kube configs). */
const CREDENTIAL_FOLDERS = new Set([
  ".aws",
  ".azure",
  ".oci",
  ".aliyun",
  ".bluemix",
  ".ibmcloud",
  ".ssh",
  ".gnupg",
  ".password-store",
  ".git",
  ".svn",
  ".hg",
  ".docker",
  ".kube",
  ".terraform",
  ".terraform.d",
  ".m2",
  ".gradle",
  ".secrets",
]);

/** `.config/<tool>` folders of CLIs that keep tokens there. */
const CREDENTIAL_CONFIG_FOLDERS = new Set(["gcloud", "gh", "hub", "doctl", "rclone", "op", "helm"]);

/** File names that are credentials wherever they sit. */
const CREDENTIAL_FILES = new Set([
  // git and http
  ".git-credentials",
  ".gitconfig",
  ".netrc",
  "_netrc",
  ".wgetrc",
  ".curlrc",
  ".htpasswd",
  // package managers and registries
  ".npmrc",
  ".yarnrc",
  ".yarnrc.yml",
  ".pnpmrc",
  ".bunfig.toml",
  "bunfig.toml",
  ".pypirc",
  "auth.json",
  ".dockercfg",
  ".dockerconfigjson",
  // databases
  ".pgpass",
  ".my.cnf",
  ".mylogin.cnf",
  // cloud and infrastructure tools
  ".boto",
  ".s3cfg",
  ".vault-token",
  ".terraformrc",
  "terraform.rc",
  "kubeconfig",
  ".sentryclirc",
  "application_default_credentials.json",
  "token.json",
  // gpg
  "secring.gpg",
  "pubring.kbx",
]);

/** File-name patterns of credentials. */
const CREDENTIAL_PATTERNS: RegExp[] = [
  /^\.env($|\.|rc$)/, // .env, .env.local, .env.production, .envrc
  /\.env$/, // production.env
  /^credentials(\.(json|ya?ml|toml|ini|xml|csv|txt|conf|cfg|env|tfrc\.json))?$/, // credentials, credentials.json, …; not credentials.js (code)
  /^secrets?\.(json|ya?ml|toml|ini|env|txt)$/,
  /^client_secret.*\.json$/, // Google OAuth client secrets
  /service[-_]?account.*\.json$/, // cloud service-account keys
  /^kubeconfig\.|\.kubeconfig$/,
  /^id_(rsa|dsa|ecdsa|ed25519)(_sk)?(\.pub)?$/, // ssh keys
  /\.(pem|key|p8|p12|pfx|ppk|jks|jceks|bks|keystore|keychain|keychain-db|kdbx|ovpn)$/, // keys and keystores
  /\.tfstate(\.backup)?$|\.tfvars(\.json)?$/, // terraform state and variables
  /^\.[a-z_]*_history$/, // shell and REPL histories
];

/** The credential list's version: part of the dependency layer's cache key, bumped with every change here. */
export const CREDENTIAL_RULES_VERSION = 2;

/** Whether the folder at `relativePath` (POSIX, relative to a package folder) is or lies in a credential folder. */
export function isSecretFolder(relativePath: string): boolean {
  const segments = relativePath.toLowerCase().split("/");
  return segments.some((segment, i) => CREDENTIAL_FOLDERS.has(segment) || (segment === ".config" && CREDENTIAL_CONFIG_FOLDERS.has(segments[i + 1] ?? "")));
}

/** Whether the file at `relativePath` (POSIX, relative to a package folder) is a credential: never shipped. */
export function isSecretPath(relativePath: string): boolean {
  if (isSecretFolder(relativePath)) return true;
  const name = relativePath.slice(relativePath.lastIndexOf("/") + 1).toLowerCase();
  return CREDENTIAL_FILES.has(name) || CREDENTIAL_PATTERNS.some((pattern) => pattern.test(name));
}
