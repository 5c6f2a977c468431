/**
 * A tiny Bearer-token setup in front of a plain registry, for tests:
 *  - a token server (GET /token?service=&scope=… with optional Basic auth, or the OAuth2
 *    refresh-token POST) that issues opaque tokens granting the requested actions to known users;
 *  - an auth-checking reverse proxy that requires `Authorization: Bearer <token>` with the right
 *    scope on /v2/… and otherwise answers 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`.
 */
import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { splitHost } from "./fault-proxy.js";

export interface TokenServerOptions {
  /** The plain registry behind the proxy, `host:port`. */
  upstream: string;
  /** user → password. */
  users: Record<string, string>;
  /** OAuth2 refresh tokens (docker's identitytoken) → user. */
  refreshTokens?: Record<string, string>;
  /** Which field carries the token (default both). */
  tokenField?: "token" | "access_token" | "both";
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  /** Anonymous token requests are granted pull (default false: they get no access). */
  anonymousPull?: boolean;
}

export interface TokenRequestLog {
  method: string;
  user: string | undefined;
  scopes: string[];
  status: number;
}

export interface TokenAuthRegistry {
  /** `127.0.0.1:<port>` of the auth-checking proxy: the registry host clients use. */
  readonly host: string;
  readonly realm: string;
  readonly service: string;
  readonly tokenRequests: TokenRequestLog[];
  /** Invalidates every token issued so far (clients must fetch new ones). */
  revokeAll(): void;
  close(): Promise<void>;
}

interface Grant {
  user: string | undefined;
  access: Map<string, Set<string>>;
  expiresAt: number;
}

const SERVICE = "flowpack-test-registry";

function listen(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (text += c));
    req.on("end", () => resolve(text));
  });
}

/** `/v2/<name>/(blobs|manifests|tags)/…` → name. */
function repositoryOf(path: string): string | undefined {
  return /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(path)?.[1];
}

export async function startTokenAuthRegistry(options: TokenServerOptions): Promise<TokenAuthRegistry> {
  const [upHost, upPort] = splitHost(options.upstream);
  const grants = new Map<string, Grant>();
  const tokenRequests: TokenRequestLog[] = [];
  const sockets = new Set<Socket>();

  const tokenServer = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://token");
      let user: string | undefined;
      let scopes: string[];
      let status = 200;
      if (req.method === "POST") {
        const form = new URLSearchParams(await readAll(req));
        scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        const refresh = form.get("refresh_token") ?? "";
        user = form.get("grant_type") === "refresh_token" ? options.refreshTokens?.[refresh] : undefined;
        if (!user) status = 401;
      } else {
        scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
        const auth = req.headers.authorization;
        if (auth) {
          const decoded = Buffer.from(auth.replace(/^Basic\s+/i, ""), "base64").toString("utf8");
          const colon = decoded.indexOf(":");
          const name = decoded.slice(0, colon);
          if (colon > 0 && /^Basic\s/i.test(auth) && options.users[name] === decoded.slice(colon + 1)) user = name;
          else status = 401;
        }
      }
      tokenRequests.push({ method: req.method ?? "GET", user, scopes, status });
      if (status === 401) {
        json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "invalid credentials" }] });
        return;
      }
      const access = new Map<string, Set<string>>();
      for (const scope of scopes) {
        const match = /^repository:(.+):([^:]*)$/.exec(scope);
        if (!match) continue;
        const wanted = (match[2] ?? "").split(",").filter(Boolean);
        const granted = user ? wanted : options.anonymousPull ? wanted.filter((a) => a === "pull") : [];
        const set = access.get(match[1] as string) ?? new Set<string>();
        for (const a of granted) set.add(a);
        access.set(match[1] as string, set);
      }
      const expiresIn = options.expiresIn ?? 300;
      const token = randomBytes(24).toString("hex");
      grants.set(token, { user, access, expiresAt: Date.now() + expiresIn * 1000 });
      const field = options.tokenField ?? "both";
      json(res, 200, {
        ...(field !== "access_token" ? { token } : {}),
        ...(field !== "token" ? { access_token: token } : {}),
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      });
    })();
  });
  const tokenPort = await listen(tokenServer, sockets);
  const realm = `http://127.0.0.1:${tokenPort}/token`;

  const proxy = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const repository = repositoryOf(path);
    const action = req.method === "GET" || req.method === "HEAD" ? "pull" : "push";
    const auth = req.headers.authorization ?? "";
    const grant = /^Bearer\s+/i.test(auth) ? grants.get(auth.replace(/^Bearer\s+/i, "")) : undefined;
    const valid = grant !== undefined && grant.expiresAt > Date.now();
    const allowed = valid && (repository === undefined || grant.access.get(repository)?.has(action) === true);
    if (!allowed) {
      req.resume();
      const scope = repository ? `,scope="repository:${repository}:${action === "push" ? "pull,push" : "pull"}"` : "";
      const error = valid ? `,error="insufficient_scope"` : "";
      json(
        res,
        401,
        { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] },
        { "www-authenticate": `Bearer realm="${realm}",service="${SERVICE}"${scope}${error}` },
      );
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = httpRequest({ host: upHost, port: upPort, method: req.method, path: req.url, headers, agent: false }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  const proxyPort = await listen(proxy, sockets);

  return {
    host: `127.0.0.1:${proxyPort}`,
    realm,
    service: SERVICE,
    tokenRequests,
    revokeAll: () => grants.clear(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => tokenServer.close(() => resolve())),
        new Promise<void>((resolve) => proxy.close(() => resolve())),
      ]);
    },
  };
}
