import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { engineApi, type EngineApi } from "../../src/engine/api.js";
import { buildImage } from "../../src/engine/build.js";
import { createDockerClient, setOptions } from "../../src/engine/client.js";
import { pullImageApi } from "../../src/engine/container-run.js";
import { EngineStatusError, reasonOf } from "../../src/engine/engine-error.js";
import { pushImage } from "../../src/engine/push.js";
import { BuildError, ContainerRunError, PushError } from "../../src/errors.js";

/**
 * A stand-in engine that is as strict as Podman's Docker-compatible API: a query value that is
 * empty is refused with a 400 and an empty body (what Podman 4.3 does for `labels=`), and the
 * push endpoint takes the repository in the path and the tag in the query. Both clients talk to
 * it: dockerode (build, push) and the node:http Engine API client (pull, run).
 */
let requests: URL[] = [];
let headers: IncomingMessage["headers"][] = [];
let answer: ((request: IncomingMessage, response: ServerResponse, url: URL) => void) | undefined;
const server = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://engine");
  requests.push(url);
  headers.push(request.headers);
  request.resume();
  request.on("end", () => {
    if ([...url.searchParams.values()].some((value) => value === "")) {
      response.writeHead(400, { "content-type": "application/json", "content-length": "0" }).end();
      return;
    }
    if (answer) return answer(request, response, url);
    response.writeHead(404).end();
  });
});
let docker: ReturnType<typeof createDockerClient>;
let api: EngineApi;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const env = { DOCKER_HOST: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}` };
  docker = createDockerClient(env);
  api = engineApi(env);
});
afterAll(() => {
  api.close();
  return new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = [];
  headers = [];
  answer = undefined;
});

const stream = (lines: object[]) => lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
const emptyValues = (url: URL) => [...url.searchParams].filter(([, value]) => value === "").map(([key]) => key);

describe("requests to the engine carry only the options that are set", () => {
  it("a build without tag, labels or platform sends none of them", async () => {
    answer = (_request, response) => response.writeHead(200).end(stream([{ stream: "Step 1/1 : FROM scratch\n" }, { aux: { ID: "sha256:" + "a".repeat(64) } }]));
    const id = await buildImage(docker, Readable.from([Buffer.alloc(1024)]), { dockerfile: "Dockerfile" });
    expect(id).toBe("sha256:" + "a".repeat(64));
    const [build] = requests;
    expect(build!.pathname).toMatch(/\/build$/);
    expect(emptyValues(build!)).toEqual([]);
    expect([...build!.searchParams.keys()].sort()).toEqual(["dockerfile", "forcerm", "rm"]);
  });

  it("a build with tag, labels and platform sends them", async () => {
    answer = (_request, response) => response.writeHead(200).end(stream([{ aux: { ID: "sha256:" + "b".repeat(64) } }]));
    await buildImage(docker, Readable.from([Buffer.alloc(1024)]), { tags: ["x:1"], labels: { a: "b" }, platform: "linux/amd64" });
    const query = requests[0]!.searchParams;
    expect(query.get("t")).toBe("x:1");
    expect(JSON.parse(query.get("labels")!)).toEqual({ a: "b" });
    expect(query.get("platform")).toBe("linux/amd64");
  });

  it("a push names the repository in the path and the tag in the query, and takes the digest from the status line", async () => {
    const digest = "sha256:" + "c".repeat(64);
    answer = (request, response, url) => {
      if (url.pathname.endsWith("/tag")) return response.writeHead(201).end();
      if (request.method === "DELETE") return response.writeHead(200, { "content-type": "application/json" }).end("[]");
      // Podman sends no `aux` message: only the status line Docker prints as well.
      response.writeHead(200).end(stream([{ status: "The push refers to repository [127.0.0.1:5000/team/x]" }, { status: `fp-1: digest: ${digest} size: 899` }]));
    };
    expect(await pushImage(docker, "sha256:" + "d".repeat(64), "127.0.0.1:5000/team/x", "fp-1", { registryHost: "127.0.0.1:5000" })).toBe(digest);
    const push = requests.find((url) => url.pathname.endsWith("/push"))!;
    expect(decodeURIComponent(push.pathname)).toMatch(/\/images\/127\.0\.0\.1:5000\/team\/x\/push$/);
    expect([...push.searchParams]).toEqual([["tag", "fp-1"]]);
  });

  it("a pull without credentials sends no empty authconfig", async () => {
    answer = (_request, response) => response.writeHead(200).end(stream([{ status: "Pulled" }]));
    await pullImageApi(api, "127.0.0.1:5000/team/x:1", undefined, "127.0.0.1:5000");
    const [pull] = requests;
    expect(pull!.pathname).toBe("/images/create");
    expect([...pull!.searchParams]).toEqual([
      ["fromImage", "127.0.0.1:5000/team/x"],
      ["tag", "1"],
    ]);
    expect(emptyValues(pull!)).toEqual([]);
    expect(pull!.searchParams.has("authconfig")).toBe(false);
    expect(headers[0]!["x-registry-auth"]).toBeUndefined();
  });

  it("a pull with credentials sends them in X-Registry-Auth, for the registry named", async () => {
    answer = (_request, response) => response.writeHead(200).end(stream([{ status: "Pulled" }]));
    await pullImageApi(api, "127.0.0.1:5000/team/x@sha256:" + "e".repeat(64), { username: "me", password: "pwd", source: "docker config" }, "127.0.0.1:5000");
    expect(requests[0]!.searchParams.get("tag")).toBe("sha256:" + "e".repeat(64));
    const header = String(headers[0]!["x-registry-auth"]);
    // URL-safe base64 with its padding, as the docker CLI sends it: the daemon decodes it strictly
    expect(header).toMatch(/^[A-Za-z0-9_-]*={0,2}$/);
    expect(header.length % 4).toBe(0);
    const auth = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as unknown;
    expect(auth).toEqual({ username: "me", password: "pwd", serveraddress: "127.0.0.1:5000" }); // 67 bytes: padded
  });
});

describe("the engine's own error text reaches the user", () => {
  it("an empty 400 is named by its status, not dockerode's 'unexpected -'", async () => {
    answer = (_request, response) => response.writeHead(400, { "content-type": "application/json", "content-length": "0" }).end();
    const error = await buildImage(docker, Readable.from([Buffer.alloc(1024)])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toBe("the Docker daemon refused the build: HTTP 400 Bad Request, with no message from the engine");
  });

  it("an empty 400 to the Engine API client is named by its status", async () => {
    answer = (_request, response) => response.writeHead(400, { "content-type": "application/json", "content-length": "0" }).end();
    const error = await pullImageApi(api, "127.0.0.1:9/x:1", undefined, "127.0.0.1:9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerRunError);
    expect((error as Error).message).toBe("cannot pull 127.0.0.1:9/x:1: HTTP 400 Bad Request, with no message from the engine");
  });

  it("Docker's JSON error body gives its message", async () => {
    answer = (_request, response) => response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "pull access denied for 127.0.0.1:9/x" }));
    const error = await pullImageApi(api, "127.0.0.1:9/x:1", undefined, "127.0.0.1:9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerRunError);
    expect((error as Error).message).toBe("cannot pull 127.0.0.1:9/x:1: pull access denied for 127.0.0.1:9/x");
  });

  it("Podman's JSON error body gives its message, or its cause when it has no message", async () => {
    answer = (_request, response) =>
      response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ cause: "no such host", message: "pulling 127.0.0.1:9/x: no such host", response: 500 }));
    const error = await pullImageApi(api, "127.0.0.1:9/x:1", undefined, "127.0.0.1:9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerRunError);
    expect((error as Error).message).toBe("cannot pull 127.0.0.1:9/x:1: pulling 127.0.0.1:9/x: no such host");
    answer = (_request, response) => response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ cause: "no such host", response: 500 }));
    const causeOnly = await pullImageApi(api, "127.0.0.1:9/x:1", undefined, "127.0.0.1:9").catch((e: unknown) => e);
    expect((causeOnly as Error).message).toBe("cannot pull 127.0.0.1:9/x:1: no such host");
  });

  it("a plain-text body to the Engine API client is shown as it is", async () => {
    answer = (_request, response) => response.writeHead(500, { "content-type": "text/plain" }).end("storage is full\n");
    const error = await api.request("GET", "/images/x/json").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineStatusError);
    expect((error as EngineStatusError).status).toBe(500);
    expect(reasonOf(error)).toBe("storage is full");
  });

  it("an error in the pull's progress stream is the pull's error", async () => {
    answer = (_request, response) => response.writeHead(200).end(stream([{ status: "Pulling fs layer" }, { errorDetail: { message: "unauthorized" }, error: "unauthorized" }]));
    const error = await pullImageApi(api, "127.0.0.1:9/x:1", undefined, "127.0.0.1:9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerRunError);
    expect((error as Error).message).toBe("cannot pull 127.0.0.1:9/x:1: unauthorized");
  });

  it("a plain-text body is shown as it is", async () => {
    answer = (request, response, url) => {
      if (url.pathname.endsWith("/tag")) return response.writeHead(201).end();
      if (request.method === "DELETE") return response.writeHead(200, { "content-type": "application/json" }).end("[]");
      response.writeHead(500, { "content-type": "text/plain" }).end("storage is full\n");
    };
    const error = await pushImage(docker, "sha256:" + "d".repeat(64), "r/x", "1", { registryHost: "r" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as Error).message).toBe("push of r/x:1 failed: storage is full");
  });

  it("reasonOf, the one reading of both clients' errors, keeps socket errors short", () => {
    expect(reasonOf(Object.assign(new Error("connect ENOENT /x.sock"), { code: "ENOENT" }))).toBe("no socket there");
    expect(reasonOf(Object.assign(new Error("(HTTP code 404) no such image - "), { statusCode: 404, json: null }))).toBe("HTTP 404 Not Found, with no message from the engine");
    expect(reasonOf(Object.assign(new Error("(HTTP code 500) server error - "), { statusCode: 500, json: { cause: "disk full" } }))).toBe("disk full");
    expect(reasonOf(new EngineStatusError(409, "conflict: name in use"))).toBe("conflict: name in use");
  });

  it("the Engine API client names an unreachable daemon's socket shortly", async () => {
    const gone = engineApi({ DOCKER_HOST: "unix:///nonexistent/flowpack-test.sock" });
    try {
      const error = await gone.request("GET", "/_ping").catch((e: unknown) => e);
      expect((error as Error).message).toBe("cannot reach the Docker daemon at unix:///nonexistent/flowpack-test.sock: no socket there");
      expect((error as { exitCode?: number }).exitCode).toBe(3);
    } finally {
      gone.close();
    }
  });
});

describe("setOptions", () => {
  it("drops unset, empty-string, empty-object and empty-list values, keeps false and 0", () => {
    expect(setOptions({ a: undefined, b: "", c: {}, d: [], e: null, f: false, g: 0, h: "x", i: { k: "v" }, j: ["y"] })).toEqual({ f: false, g: 0, h: "x", i: { k: "v" }, j: ["y"] });
  });
});
