import { RegistryClient } from "../../src/registry/client.js";
import { anonymousKeychain } from "../../src/registry/keychain.js";
import { validateRegistryImage } from "./validate-image.js";

/** Runs the independent image validator on `host/repo[:tag]@sha256:…` as a loopback registry holds it. */
export async function validatePushed(image: string): Promise<string[]> {
  const [name, digest] = image.split("@") as [string, string];
  const slash = name.indexOf("/");
  const host = name.slice(0, slash);
  const repository = name.slice(slash + 1).replace(/:[^:/]+$/, "");
  const client = new RegistryClient({ host, keychain: anonymousKeychain });
  return validateRegistryImage({
    getManifest: () => client.getManifest(repository, digest),
    getBlob: (d) => client.getBlob(repository, d),
  });
}
