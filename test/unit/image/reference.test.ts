import { describe, expect, it } from "vitest";
import { familiarReference, formatReference, isLoopbackHost, parseReference, registryHost, repository, withDigest, withTag } from "../../../src/oci/reference.js";
import { ImageReferenceError } from "../../../src/errors.js";

const HEX = "a".repeat(64);
const DIGEST = `sha256:${HEX}`;

describe("parseReference: valid references", () => {
  const table: [input: string, registry: string, path: string, tag: string | undefined, digest: string | undefined, formatted: string][] = [
    ["node", "docker.io", "library/node", "latest", undefined, "docker.io/library/node:latest"],
    ["node:20", "docker.io", "library/node", "20", undefined, "docker.io/library/node:20"],
    ["node:20-bookworm-slim", "docker.io", "library/node", "20-bookworm-slim", undefined, "docker.io/library/node:20-bookworm-slim"],
    ["library/node:20", "docker.io", "library/node", "20", undefined, "docker.io/library/node:20"],
    ["docker.io/node:20", "docker.io", "library/node", "20", undefined, "docker.io/library/node:20"],
    ["index.docker.io/library/node:20", "docker.io", "library/node", "20", undefined, "docker.io/library/node:20"],
    // the registry client's rule for Docker Hub's spellings
    ["registry.hub.docker.com/library/node:20", "docker.io", "library/node", "20", undefined, "docker.io/library/node:20"],
    ["acme/app:1.2", "docker.io", "acme/app", "1.2", undefined, "docker.io/acme/app:1.2"],
    ["ghcr.io/acme/app:v1", "ghcr.io", "acme/app", "v1", undefined, "ghcr.io/acme/app:v1"],
    ["host:5050/a/b:tag", "host:5050", "a/b", "tag", undefined, "host:5050/a/b:tag"],
    ["127.0.0.1:5555/flowpack-test/node:20", "127.0.0.1:5555", "flowpack-test/node", "20", undefined, "127.0.0.1:5555/flowpack-test/node:20"],
    ["localhost/app", "localhost", "app", "latest", undefined, "localhost/app:latest"],
    ["localhost:5000/app", "localhost:5000", "app", "latest", undefined, "localhost:5000/app:latest"],
    ["[::1]:5000/app:dev", "[::1]:5000", "app", "dev", undefined, "[::1]:5000/app:dev"],
    ["Registry.Example.COM/team/app", "registry.example.com", "team/app", "latest", undefined, "registry.example.com/team/app:latest"],
    [`node@${DIGEST}`, "docker.io", "library/node", undefined, DIGEST, `docker.io/library/node@${DIGEST}`],
    [`node:20@${DIGEST}`, "docker.io", "library/node", "20", DIGEST, `docker.io/library/node:20@${DIGEST}`],
    [`host:5050/a/b:tag@${DIGEST}`, "host:5050", "a/b", "tag", DIGEST, `host:5050/a/b:tag@${DIGEST}`],
    ["a/b__c/d-e--f.g_h:_tag.1-x", "docker.io", "a/b__c/d-e--f.g_h", "_tag.1-x", undefined, "docker.io/a/b__c/d-e--f.g_h:_tag.1-x"],
    [`x:${"t".repeat(128)}`, "docker.io", "library/x", "t".repeat(128), undefined, `docker.io/library/x:${"t".repeat(128)}`],
  ];
  it.each(table)("%s", (input, registry, path, tag, digest, formatted) => {
    const ref = parseReference(input);
    expect(ref).toEqual({ registry, path, tag, digest });
    expect(formatReference(ref)).toBe(formatted);
    expect(parseReference(formatReference(ref))).toEqual(ref);
  });
});

describe("parseReference: invalid references name the rule", () => {
  const table: [input: string, rule: RegExp][] = [
    ["", /empty/],
    ["node 20", /white space/],
    ["Node:20", /must be lowercase|registry host/],
    ["docker.io/Library/node", /must match \[a-z0-9\].*lowercase/],
    ["acme/-app", /repository path component "-app" must match/],
    ["acme/app-", /repository path component "app-" must match/],
    ["acme/a___b", /repository path component "a___b"/],
    ["acme//app", /empty component/],
    ["acme/app/", /empty component/],
    ["node:", /tag after ':' is empty/],
    ["node:-x", /tag "-x" must match/],
    ["node:.x", /tag ".x" must match/],
    [`node:${"t".repeat(129)}`, /must match \[\\w\]\[\\w.-\]\{0,127\}/],
    ["node@", /digest after '@' is empty/],
    [`node@sha512:${"a".repeat(128)}`, /only sha256/],
    ["node@sha256:abc", /64 lowercase hex/],
    [`node@sha256:${"A".repeat(64)}`, /64 lowercase hex/],
    [":tag", /repository name is empty/],
    [`@${DIGEST}`, /repository name is empty/],
    ["host:99999/app", /port 99999/],
    ["host:0/app", /port 0/],
    ["-host.com/app", /registry host/],
    ["host.com/", /repository path is empty/],
    [`example.com/${"a".repeat(250)}`, /longer than 255/],
  ];
  it.each(table)("%j", (input, rule) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImageReferenceError);
    expect((error as ImageReferenceError).code).toBe("IMAGE_REFERENCE_INVALID");
    expect((error as Error).message).toMatch(rule);
    expect((error as Error).message).toContain(JSON.stringify(input));
  });
});

describe("reference helpers", () => {
  it("defaultTag: null leaves the tag unset", () => {
    expect(parseReference("node", { defaultTag: null }).tag).toBeUndefined();
    expect(parseReference("node", { defaultTag: "lts" }).tag).toBe("lts");
  });

  it("withDigest pins, withTag retags and drops the digest", () => {
    const ref = parseReference("127.0.0.1:5555/flowpack/app:dev");
    const pinned = withDigest(ref, DIGEST);
    expect(formatReference(pinned)).toBe(`127.0.0.1:5555/flowpack/app:dev@${DIGEST}`);
    expect(formatReference(withTag(pinned, "v2"))).toBe("127.0.0.1:5555/flowpack/app:v2");
    expect(() => withDigest(ref, "sha256:nope")).toThrow(ImageReferenceError);
    expect(() => withTag(ref, "bad tag")).toThrow(/must match/);
  });

  it("repository, registryHost and familiar forms", () => {
    const hub = parseReference("node:20");
    expect(repository(hub)).toBe("docker.io/library/node");
    expect(registryHost(hub)).toBe("registry-1.docker.io");
    expect(registryHost("index.docker.io")).toBe("registry-1.docker.io");
    expect(registryHost("registry.hub.docker.com")).toBe("registry-1.docker.io");
    expect(familiarReference(hub)).toBe("node:20");
    expect(familiarReference(parseReference("acme/app:1"))).toBe("acme/app:1");
    const local = parseReference("host:5050/a/b:tag");
    expect(registryHost(local)).toBe("host:5050");
    expect(familiarReference(local)).toBe("host:5050/a/b:tag");
  });

  it.each([
    ["localhost", true],
    ["localhost:5000", true],
    ["registry.localhost:80", true],
    ["127.0.0.1", true],
    ["127.0.0.1:5555", true],
    ["127.1.2.3:80", true],
    ["[::1]:5000", true],
    ["::1", true],
    ["[::ffff:127.0.0.1]:5000", true],
    ["0:0:0:0:0:0:0:1", true],
    ["[0000::0001]:5000", true],
    ["localhost.", true],
    ["[::ffff:7f00:1]:5000", true],
    ["user@localhost", false],
    ["10.0.0.1:5000", false],
    ["example.com", false],
    ["localhost.example.com", false],
    ["[::2]:5000", false],
    ["docker.io", false],
  ])("isLoopbackHost(%s) = %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
