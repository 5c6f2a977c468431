import type { Job } from "kubernetes-types/batch/v1.js";
import { commonJsExports } from "../_internal/import-module.js";
import { JOB_LABELS } from "./kubernetes.js";

/**
 * A Job as YAML for `kubectl apply -f`, with a comment saying how to read its result and that
 * its env values are plain text. The YAML library is loaded here, on first use, not when the CLI
 * starts. Long strings (the manifest, the parameters) stay on one line.
 */
export async function kubernetesJobYaml(job: Job): Promise<string> {
  const { Document } = commonJsExports(await import("yaml"));
  const doc = new Document(job);
  const runId = job.metadata?.labels?.[JOB_LABELS.runId];
  doc.commentBefore = [
    ` Written by flowpack export kubernetes. Apply: kubectl apply -f <this file>`,
    ...(runId ? [` Result: kubectl get pods -l ${JOB_LABELS.runId}=${runId} -o jsonpath='{..terminated.message}'`] : []),
    ` Values under env: are plain text here; keep secrets in a Secret (--env-from-secret NAME).`,
  ].join("\n");
  return doc.toString({ lineWidth: 0 });
}
