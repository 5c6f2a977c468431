import { formatISO9075, differenceInMinutes } from "date-fns";
import ms from "ms";
import type { Order } from "./orders.js";

export interface Summary {
  day: string;
  orders: number;
  total: string;
  first: string | null;
  span: string;
}

export function summarize(day: string, orders: Order[], currency: "EUR" | "USD"): Summary {
  const totalCents = orders.reduce((sum, o) => sum + o.amountCents, 0);
  const first = orders[0];
  const last = orders.at(-1);
  const minutes = first && last ? differenceInMinutes(last.placedAt, first.placedAt) : 0;
  return {
    day,
    orders: orders.length,
    total: `${(totalCents / 100).toFixed(2)} ${currency}`,
    first: first ? formatISO9075(first.placedAt, { representation: "time" }) : null,
    span: ms(minutes * 60_000, { long: true }),
  };
}
