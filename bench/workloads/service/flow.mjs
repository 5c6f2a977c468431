// bench workload "service": several local modules and a realistic set of pure-JS dependencies.
import { flow } from "flowpack";
import { z } from "zod";
import { app, httpClient, log, uploadRequest } from "./lib/clients.mjs";
import { generateOrders, totalsByRegion } from "./lib/orders.mjs";
import { countBatches } from "./lib/pipeline.mjs";
import { renderReport } from "./lib/report.mjs";
import { invalidOrders } from "./lib/validate.mjs";

const VARIANT = "base"; // the benchmark's code-only change rewrites this one line

export const service = flow(
  {
    name: "bench-service",
    description: "Nightly order report",
    parameters: z.object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).default("2024-01-01"), limit: z.number().int().positive().default(500) }),
  },
  async ({ day, limit }) => {
    const orders = generateOrders(day, limit);
    const totals = totalsByRegion(orders);
    const report = renderReport(day, totals);
    const upload = uploadRequest("reports", `orders/${day}.yaml`, report.yaml);
    log.info({ day, orders: orders.length }, "report ready");
    return {
      variant: VARIANT,
      orders: orders.length,
      invalid: invalidOrders(orders),
      batches: await countBatches(orders, 100),
      totals,
      text: report.text,
      upload,
      http: httpClient().defaults.baseURL,
      routes: typeof app().get === "function",
    };
  },
);
