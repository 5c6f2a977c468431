import { flow } from "flowpack";
import { z } from "zod";
import { summarize } from "./summary.js";
import { loadOrders } from "./orders.js";

export const dailyReport = flow(
  {
    name: "daily-report",
    description: "Summarises a day's orders",
    parameters: z.object({
      day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected YYYY-MM-DD"),
      limit: z.number().int().positive().default(5),
      currency: z.enum(["EUR", "USD"]).default("EUR"),
      verbose: z.boolean().default(false),
    }),
  },
  async ({ day, limit, currency, verbose }, ctx) => {
    const orders = loadOrders(day, limit);
    if (verbose) ctx.log.info("loaded orders", { count: orders.length });
    return summarize(day, orders, currency);
  },
);
