// Synthetic orders, deterministic for a given seed.
import _ from "lodash";
import { addDays, formatISO } from "date-fns";
import { v5 as uuidv5 } from "uuid";

const NAMESPACE = "1b671a64-40d5-491e-99b0-da01ff1f3341";
const REGIONS = ["north", "south", "east", "west"];

export function generateOrders(day, count) {
  const start = new Date(`${day}T00:00:00Z`);
  return _.range(count).map((i) => ({
    id: uuidv5(`${day}/${i}`, NAMESPACE),
    region: REGIONS[(i * 7) % REGIONS.length],
    amount: Math.round(((i * 37) % 1000) * 1.5) / 10,
    shippedOn: formatISO(addDays(start, i % 5), { representation: "date" }),
  }));
}

export function totalsByRegion(orders) {
  return _.mapValues(_.groupBy(orders, "region"), (rows) => _.round(_.sumBy(rows, "amount"), 2));
}
