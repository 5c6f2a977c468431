// The worker thread of a FlowReader (reader.ts): loads a bundle the way the main thread would
// (BundleImporter), picks the flow and answers with its name and parameter schema. Built into
// dist/flow-reader.mjs by `npm run build`.
import { parentPort, workerData } from "node:worker_threads";
import { flowsOf, pickFlow } from "./select.js";
import { serializeError, VENDOR_NOT_PRELOADED, type ReaderAnswer, type ReaderNotice, type ReaderRequest, type ReaderVendor } from "./reader-protocol.js";
import { BundleImporter } from "../bundle/temporary.js";
import type { Sha256Digest } from "../oci/digest.js";

const port = parentPort;
if (!port) throw new Error("flowpack: the flow reader runs in a worker thread only");
if ((workerData as { sourceMaps?: boolean } | undefined)?.sourceMaps) process.setSourceMapsEnabled(true);

const importer = new BundleImporter();
const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
let preloading: Promise<void> = Promise.resolve();

port.on("message", (request: ReaderRequest) => {
  if (request.kind === "preload") {
    // Only a head start: when it fails, a read of a bundle importing that module is answered
    // VENDOR_NOT_PRELOADED (this thread has no bytes of it) and the main thread reads the flow.
    preloading = importer.preload(request.projectRoot, request.vendor).catch(() => undefined);
    return;
  }
  if (request.kind === "close") {
    // process.exit() in a worker ends this thread only, with whatever the flow's module left running.
    void importer
      .close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
    return;
  }
  void read(request).then(({ answer, before }) => {
    port.postMessage(answer);
    // A moment later, whatever of the flow's is still going on (a request under way, an immediate
    // that schedules itself) is counted too: a thread kept for the next read must start it clean.
    // (Unref'd: Node lists a timer among what is running while its own callback runs.)
    setTimeout(() => port.postMessage({ kind: "settled", leftRunning: newResources(before, process.getActiveResourcesInfo()) } satisfies ReaderNotice), SETTLE_MS).unref();
  });
});

/** How long after a read what it started must have ended by itself, for the thread to read again. */
const SETTLE_MS = 50;

/** The vendor module as the importer takes it: its bytes, or (preloaded) its digest alone. */
async function vendorOf(vendor: ReaderVendor): Promise<{ code: Buffer; map: Buffer; digest: Sha256Digest }> {
  if (vendor.code && vendor.map) return { code: buffer(vendor.code), map: buffer(vendor.map), digest: vendor.digest as Sha256Digest };
  if (!(await importer.hasVendor(vendor.digest))) throw Object.assign(new Error("the vendor module was not preloaded"), { code: VENDOR_NOT_PRELOADED });
  return { code: Buffer.alloc(0), map: Buffer.alloc(0), digest: vendor.digest as Sha256Digest }; // in its folder already: no bytes needed
}

/** The answer, and the resources the thread had before the read (to tell what it started). */
async function read(request: Extract<ReaderRequest, { kind: "read" }>): Promise<{ answer: ReaderAnswer; before: string[] }> {
  const before = process.getActiveResourcesInfo();
  return { answer: await readFlow(request), before };
}

async function readFlow(request: Extract<ReaderRequest, { kind: "read" }>): Promise<ReaderAnswer> {
  const { bundle } = request;
  // The placeholders are set while the module loads, then put back as they were (a thread may read
  // again: a warm process's); what the flow's packages set themselves stays, as it would in --watch.
  const before = Object.fromEntries(Object.keys(request.env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, request.env);
  try {
    await preloading;
    const vendor = bundle.vendor && (await vendorOf(bundle.vendor));
    const namespace = await importer.import({
      code: buffer(bundle.code),
      projectRoot: bundle.projectRoot,
      ...(bundle.map ? { map: buffer(bundle.map) } : {}),
      ...(bundle.entry !== undefined ? { entry: bundle.entry } : {}),
      ...(bundle.assetsRoot !== undefined ? { assetsRoot: bundle.assetsRoot } : {}),
      ...(vendor ? { vendor } : {}),
    });
    const flow = pickFlow(flowsOf(namespace), request.flowName, request.where);
    return { kind: "flow", name: flow.name, parameterSchema: flow.parameterSchema() };
  } catch (error) {
    return { kind: "error", error: serializeError(error) };
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  // The temporary folder is removed on "close", after the answer: the caller need not wait for that.
}

/**
 * The resources in `after` that `before` did not have, by Node's names for them (counted: two timers
 * where there was one is one new "Timeout"): timers, sockets, servers, child processes, watchers,
 * and requests still under way or immediates still scheduled SETTLE_MS after the read (those of the
 * read itself, a file being closed, have ended by then). Node lists what keeps a thread alive only:
 * an unref'd timer is not seen.
 */
function newResources(before: string[], after: string[]): string[] {
  const counts = new Map<string, number>();
  for (const kind of before) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  const added: string[] = [];
  for (const kind of after) {
    const left = counts.get(kind) ?? 0;
    if (left > 0) counts.set(kind, left - 1);
    else added.push(kind);
  }
  return added;
}
