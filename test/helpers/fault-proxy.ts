/**
 * An in-process HTTP proxy on 127.0.0.1:0 in front of a real registry, scriptable per request:
 * "the 2nd PUT to /blobs/uploads/ answers 503", "reset the connection on the first HEAD", …
 * Requests pass through unchanged (Host included, so the registry's Location headers point back at
 * the proxy) unless a rule matches.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault =
  /** Answer this status without asking the registry (the request body is drained first). */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  /** Destroy the connection before the request reaches the registry. */
  | { kind: "reset" }
  /** Forward the request, let the registry act on it, then destroy the connection instead of answering. */
  | { kind: "reset-after-upstream" }
  /** Forward, then flip one byte of the response body. */
  | { kind: "corrupt" }
  /** Answer 307 to the same URL on another host (default: the registry itself, i.e. another origin). */
  | { kind: "redirect"; to?: string }
  /** Forward, but make the Location header relative (path and query only), as some registries send it. */
  | { kind: "relative-location" };

export interface FaultRule {
  /** Exact HTTP method (case-insensitive); any when omitted. */
  method?: string;
  /** Matched against the request path (query included). */
  path: RegExp;
  /** The first matching request that gets the fault (1-based; default 1). */
  nth?: number;
  /** How many matching requests in a row get it (default 1; Infinity for all). */
  times?: number;
  fault: Fault;
}

export interface ProxiedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  fault?: Fault["kind"];
  authorization?: boolean;
  /** Request body bytes received (what a client uploaded through the proxy). */
  bytes: number;
}

/** When a request arrived and when its answer was done, as positions in one sequence of events (an order, not a time). */
export interface RequestOrder {
  started: number;
  ended: number;
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`: use it as the registry host. */
  readonly host: string;
  readonly upstream: string;
  /** Every request seen, in order. */
  readonly requests: ProxiedRequest[];
  /** Each request's place in the sequence of arrivals and answers (see criticalPath). */
  readonly order: WeakMap<ProxiedRequest, RequestOrder>;
  inject(rule: FaultRule): void;
  /**
   * Answer no request sooner than `ms` after it arrived, as a far registry would (0: at once).
   * Requests a client sends together then overlap at the proxy however loaded the machine is, so
   * counting round trips (criticalPath) does not depend on scheduling. Kept across reset().
   */
  hold(ms: number): void;
  /** Drop all rules (and the request log). */
  reset(): void;
  close(): Promise<void>;
}

interface ActiveRule extends FaultRule {
  seen: number;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upHost, upPort] = splitHost(upstream);
  const rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  let tick = 0;
  let holdMs = 0;
  const order = new WeakMap<ProxiedRequest, RequestOrder>();

  const pick = (req: IncomingMessage): Fault | undefined => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    for (const rule of rules) {
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (!rule.path.test(path)) continue;
      rule.seen++;
      const first = rule.nth ?? 1;
      const times = rule.times ?? 1;
      if (rule.seen >= first && rule.seen < first + times) return rule.fault;
    }
    return undefined;
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    onResponse?: (upRes: IncomingMessage, body: Buffer) => void,
  ): void => {
    const up = httpRequest(
      { host: upHost, port: upPort, method: req.method, path: req.url, headers: req.headers, agent: false },
      (upRes) => {
        if (!onResponse) {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on("data", (c: Buffer) => chunks.push(c));
        upRes.on("end", () => onResponse(upRes, Buffer.concat(chunks)));
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const fault = pick(req);
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const entry: ProxiedRequest = {
      method: req.method ?? "GET",
      path,
      ...(fault ? { fault: fault.kind } : {}),
      authorization: req.headers.authorization !== undefined,
      bytes: 0,
    };
    requests.push(entry);
    const place = { started: ++tick, ended: Infinity };
    order.set(entry, place);
    res.on("close", () => (place.ended = ++tick));
    req.on("data", (chunk: Buffer) => (entry.bytes += chunk.length));
    if (!fault) {
      if (holdMs === 0) {
        forward(req, res);
        return;
      }
      // the request goes on at once (its body streams through); only the answer waits
      const arrived = Date.now();
      const wait = holdMs;
      forward(req, res, (upRes, body) => {
        setTimeout(() => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
        }, Math.max(0, arrived + wait - Date.now()));
      });
      return;
    }
    switch (fault.kind) {
      case "status":
        req.resume();
        req.on("end", () => {
          const body = fault.body ?? JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "injected fault" }] });
          res.writeHead(fault.status, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...fault.headers,
          });
          res.end(body);
        });
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "reset-after-upstream":
        forward(req, res, () => req.socket.destroy());
        return;
      case "corrupt":
        forward(req, res, (upRes, body) => {
          if (body.length > 0) body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0xff;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
        });
        return;
      case "relative-location":
        forward(req, res, (upRes, body) => {
          const headers = { ...upRes.headers };
          if (typeof headers.location === "string") {
            const url = new URL(headers.location, `http://${upstream}`);
            headers.location = `${url.pathname}${url.search}`;
          }
          res.writeHead(upRes.statusCode ?? 502, headers);
          res.end(body);
        });
        return;
      case "redirect":
        req.resume();
        req.on("end", () => {
          res.writeHead(307, { location: `http://${fault.to ?? upstream}${req.url ?? "/"}`, "content-length": 0 });
          res.end();
        });
        return;
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    host: `127.0.0.1:${port}`,
    upstream,
    requests,
    order,
    inject: (rule) => rules.push({ ...rule, seen: 0 }),
    hold: (ms) => {
      holdMs = ms;
    },
    reset: () => {
      rules.length = 0;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Round trips on the critical path of `requests`: the longest chain in which each request arrived
 * only after the one before it had been answered (from the order of events, never from times).
 */
export function criticalPath(proxy: Pick<FaultProxy, "requests" | "order">): number {
  const sorted = proxy.requests.map((r) => proxy.order.get(r)!).sort((a, b) => a.started - b.started);
  const depth: number[] = [];
  for (const [i, request] of sorted.entries()) {
    let d = 1;
    for (let j = 0; j < i; j++) if (sorted[j]!.ended < request.started) d = Math.max(d, depth[j]! + 1);
    depth.push(d);
  }
  return Math.max(0, ...depth);
}

export function splitHost(host: string): [string, number] {
  const index = host.lastIndexOf(":");
  return [host.slice(0, index), Number(host.slice(index + 1))];
}
