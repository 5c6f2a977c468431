// A counting HTTP proxy in front of the registry. Every tool pushes and pulls through it, so the
// bytes each one uploads are counted here, not taken from the tool's own claim. It can listen on
// many loopback ports at once: each port looks like a different registry to the Docker daemon
// (its push metadata is keyed by host:port), which is how the harness gives every cold build a
// registry nothing has been pushed to before (while the blobs underneath are shared).
//
// With `delayMs` (bench --registry-delay), every request waits that long before it is forwarded:
// a registry that far away, for every tool alike. Each request's start and end are kept, so the
// harness can count the round trips on the critical path of a step (criticalPath): the longest
// chain of requests each of which started only after the previous one had been answered.
import { createServer, request as httpRequest, Agent } from "node:http";

const BLOB = /^\/v2\/.+\/blobs\//;
const MANIFEST = /^\/v2\/.+\/manifests\//;

function zero() {
  return { uploadBytes: 0, manifestBytes: 0, downloadBytes: 0, requests: 0, blobUploads: 0, mounts: 0, heads: 0 };
}

export async function startCountingProxy(upstream, { delayMs = 0 } = {}) {
  const [upHost, upPortText] = [upstream.slice(0, upstream.lastIndexOf(":")), upstream.slice(upstream.lastIndexOf(":") + 1)];
  const upPort = Number(upPortText);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const servers = new Map(); // host -> { server, counters, sockets }

  const handler = (counters, events) => (req, res) => {
    const event = { start: performance.now(), end: Infinity, what: `${req.method} ${(req.url ?? "/").split("?", 1)[0]}` };
    events.push(event);
    res.on("close", () => (event.end = performance.now()));
    if (delayMs > 0) {
      req.pause();
      setTimeout(() => forward(counters)(req, res), delayMs);
    } else forward(counters)(req, res);
  };

  const forward = (counters) => (req, res) => {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?", 1)[0];
    const query = (req.url ?? "").includes("?") ? (req.url ?? "").slice((req.url ?? "").indexOf("?")) : "";
    counters.requests++;
    const isBlob = BLOB.test(path);
    const uploadish = method === "PUT" || method === "PATCH" || method === "POST";
    if (isBlob && method === "HEAD") counters.heads++;
    if (isBlob && method === "POST" && /[?&]mount=/.test(query)) counters.mounts++;
    if (isBlob && method === "PUT") counters.blobUploads++;
    const up = httpRequest(
      { host: upHost, port: upPort, method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (isBlob && method === "GET") upRes.on("data", (c) => (counters.downloadBytes += c.length));
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.on("data", (c) => {
      if (uploadish && isBlob) counters.uploadBytes += c.length;
      else if (uploadish && MANIFEST.test(path)) counters.manifestBytes += c.length;
    });
    req.pipe(up);
  };

  return {
    upstream,
    /** Opens a new port; returns its `127.0.0.1:<port>` host. */
    async listen() {
      const counters = zero();
      const events = [];
      const sockets = new Set();
      const server = createServer(handler(counters, events));
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
      });
      await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
      const host = `127.0.0.1:${server.address().port}`;
      servers.set(host, { server, counters, sockets, events });
      return host;
    },
    /** A copy of the counters of one port. */
    counters(host) {
      const entry = servers.get(host);
      if (!entry) throw new Error(`proxy does not listen on ${host}`);
      return { ...entry.counters, mark: entry.events.length };
    },
    /** The requests on `host` since `before`, each { start, end, what } (performance.now() ms). */
    events(host, before) {
      const entry = servers.get(host);
      if (!entry) throw new Error(`proxy does not listen on ${host}`);
      return entry.events.slice(before?.mark ?? 0).map((e) => ({ ...e }));
    },
    /**
     * Round trips on the critical path of what happened on `host` since `before` (a counters()
     * copy): the longest chain of requests each started after the previous one was answered.
     */
    criticalPath(host, before) {
      const entry = servers.get(host);
      if (!entry) throw new Error(`proxy does not listen on ${host}`);
      return criticalPath(entry.events.slice(before?.mark ?? 0));
    },
    async close() {
      await Promise.all(
        [...servers.values()].map(
          ({ server, sockets }) =>
            new Promise((resolve) => {
              for (const s of sockets) s.destroy();
              server.close(() => resolve());
            }),
        ),
      );
      servers.clear();
      agent.destroy();
    },
  };
}

/** Longest chain of requests (by start/end times) in which each starts after the one before ended. */
export function criticalPath(events) {
  const sorted = [...events].sort((a, b) => a.start - b.start);
  const depth = [];
  let longest = 0;
  for (let i = 0; i < sorted.length; i++) {
    let d = 1;
    for (let j = 0; j < i; j++) if (sorted[j].end <= sorted[i].start && depth[j] + 1 > d) d = depth[j] + 1;
    depth.push(d);
    longest = Math.max(longest, d);
  }
  return longest;
}

/**
 * A process's wall time cut where the registry saw it (`events` as events() gives them, times from
 * the same performance.now() clock): spawn → first request (start-up, bundling), first request →
 * last answer (reading the flow while upload sessions open, the push), last answer → exit.
 */
export function splitAtRegistry(events, startedAt, endedAt) {
  if (events.length === 0) return undefined;
  const first = Math.min(...events.map((e) => e.start));
  const last = Math.max(...events.map((e) => e.end));
  return { beforeFirstMs: first - startedAt, registryMs: last - first, afterLastMs: endedAt - last };
}

/** counters after − before, field by field. */
export function diffCounters(after, before) {
  const out = {};
  for (const key of Object.keys(after)) out[key] = after[key] - (before[key] ?? 0);
  return out;
}
