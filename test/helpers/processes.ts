import { readFileSync } from "node:fs";

/** Whether the process `pid` exists and has not ended (a zombie, not reaped yet by whoever adopted it, has ended). */
export function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0] !== "Z";
  } catch {
    return false;
  }
}
