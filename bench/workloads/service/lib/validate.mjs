// Validates records against a JSON Schema with ajv.
import Ajv from "ajv";

const ajv = new Ajv({ allErrors: true });
const orderSchema = {
  type: "object",
  required: ["id", "region", "amount", "shippedOn"],
  properties: {
    id: { type: "string", minLength: 36, maxLength: 36 },
    region: { enum: ["north", "south", "east", "west"] },
    amount: { type: "number", minimum: 0 },
    shippedOn: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
  },
};
const check = ajv.compile(orderSchema);

export function invalidOrders(orders) {
  return orders.filter((order) => !check(order)).length;
}
