import { rmSync } from "node:fs";
import type { Command } from "commander";
import { toJson } from "../../_internal/report.js";
import { UsageError } from "../../errors.js";
import type { Output } from "../output.js";
import { askAllWarm, failedWarm } from "../warm/client.js";

// The CLI's entry uses warm processes through this module's bundle (dist/commands/warm.cjs): loaded
// only for a one-shot `package` that wants them (warm/names.ts warmChoice), or in a warm process.
export { handToWarm, startWarm } from "../warm/client.js";
export { warmPlace } from "../warm/place.js";
export { serveWarm } from "../warm/server.js";

export function registerWarm(program: Command, output: () => Output): void {
  program
    .command("warm")
    .description("the warm processes one-shot `package` keeps (at a terminal, outside CI; FLOWPACK_WARM=0|1): status | stop")
    .argument("<action>", "status | stop")
    .action(async (action: string) => {
      const out = output();
      if (action === "status") {
        const statuses = (await askAllWarm(process.env, "status")).map(({ kind: _kind, ...status }) => status);
        // One that failed is restarted a minute later at the soonest (see startWarm): say where it said why (on stderr, --json too).
        for (const { log, ago } of await failedWarm(process.env)) out.info(`flowpack: warning: a warm process failed ${Math.round(ago / 1000)} s ago; its log: ${log}`);
        if (out.json) return out.result(toJson(statuses));
        if (statuses.length === 0) return out.result("no warm process");
        const now = Date.now();
        for (const s of statuses) {
          const state = s.busy ? "building" : `idle ${Math.round((now - s.lastUsedAt) / 1000)} s`;
          out.result(`pid ${s.pid}  ${s.builds} build${s.builds === 1 ? "" : "s"}  ${state}  ${s.cwd}`);
        }
        return;
      }
      if (action === "stop") {
        const stopped = await askAllWarm(process.env, "stop");
        // and the logs of those that failed: the next package may start one at once
        for (const { log } of await failedWarm(process.env)) rmSync(log, { force: true });
        if (out.json) return out.result(toJson({ stopped: stopped.length }));
        return out.info(`stopped ${stopped.length} warm process${stopped.length === 1 ? "" : "es"}`);
      }
      throw new UsageError(`unknown action ${JSON.stringify(action)}; known: status, stop`);
    });
}
