import { describe, expect, it } from "vitest";
import { isSecretFolder, isSecretPath } from "../../src/packagers/docker/credentials.js";

// Paths relative to a package folder → whether the credential list takes them out of the image.
const credentials = [
  // the six a tester found in images
  ".git-credentials",
  ".envrc",
  ".aws/credentials",
  ".docker/config.json",
  ".pgpass",
  "credentials.json",
  // cloud CLIs
  ".aws/config",
  "config/.aws/credentials",
  ".azure/accessTokens.json",
  ".config/gcloud/application_default_credentials.json",
  ".config/gcloud/legacy_credentials/me@example.com/adc.json",
  "keys/application_default_credentials.json",
  "deploy/my-project-service-account.json",
  "gcp/service_account_key.json",
  "client_secret_1234.apps.googleusercontent.com.json",
  "token.json",
  ".config/gh/hosts.yml",
  ".oci/config",
  // docker and kube
  ".kube/config",
  "kubeconfig",
  "deploy/kubeconfig.yaml",
  "prod.kubeconfig",
  ".dockercfg",
  // git and http
  ".git/config",
  ".git",
  ".gitconfig",
  ".netrc",
  "_netrc",
  ".htpasswd",
  "public/.htpasswd",
  // databases
  ".my.cnf",
  "db/.pgpass",
  // env and direnv
  ".env",
  ".env.local",
  ".env.production",
  "lib/deep/.env.test",
  "docker/production.env",
  // package managers
  ".npmrc",
  ".yarnrc",
  ".yarnrc.yml",
  ".pnpmrc",
  ".pypirc",
  "auth.json",
  ".cargo/credentials.toml",
  ".gem/credentials",
  // ssh and keys
  ".ssh/id_rsa",
  ".ssh/known_hosts",
  "id_rsa",
  "id_ed25519",
  "keys/id_ecdsa.pub",
  "tls/server.pem",
  "tls/server.key",
  "certs/client.p12",
  "certs/client.pfx",
  "android/release.jks",
  "android/debug.keystore",
  "secrets.kdbx",
  "putty.ppk",
  "AuthKey_ABC123.p8",
  // terraform and other tools
  ".terraform.d/credentials.tfrc.json",
  "infra/terraform.tfstate",
  "infra/terraform.tfstate.backup",
  "infra/prod.tfvars",
  ".terraformrc",
  ".s3cfg",
  ".boto",
  ".vault-token",
  ".sentryclirc",
  "secrets.yaml",
  ".bash_history",
  ".psql_history",
  // any case
  ".ENV",
  "Credentials.JSON",
  ".AWS/credentials",
];

const ordinary = [
  "index.js",
  "package.json",
  "README.md",
  "src/environment.ts",
  "lib/env.js",
  "environment.d.ts",
  "keyboard.js",
  "monkey.js",
  "lib/key.js",
  "lib/keys.js",
  "tokens.json", // design tokens (Style Dictionary and co.)
  "lib/credentials.js", // code: aws-sdk v2 has lib/credentials.js and lib/credentials/
  "lib/credentials/shared_ini_file_credentials.js",
  "lib/service-account.js",
  "lib/secrets.js",
  "docs/env.md",
  ".gitignore",
  ".gitattributes",
  ".github/workflows/ci.yml",
  ".config/prettier.json",
  "dist/keymap.json",
  "ssh.js",
  "lib/docker/config.json",
  "lib/kube/config.js",
  "history.js",
];

describe("the credential list", () => {
  it.each(credentials)("%s is a credential", (path) => {
    expect(isSecretPath(path)).toBe(true);
  });

  it.each(ordinary)("%s is not", (path) => {
    expect(isSecretPath(path)).toBe(false);
  });

  it("takes whole credential folders, wherever they sit, and keeps folders of code with credential-ish names", () => {
    for (const folder of [".aws", "a/b/.ssh", ".config/gcloud", ".git", ".docker", ".kube", ".terraform.d"]) expect(isSecretFolder(folder), folder).toBe(true);
    for (const folder of ["lib/credentials", "src", ".config", ".github", "env", "keys"]) expect(isSecretFolder(folder), folder).toBe(false);
  });
});
