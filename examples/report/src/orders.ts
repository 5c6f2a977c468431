export interface Order {
  id: number;
  amountCents: number;
  placedAt: Date;
}

/** Deterministic sample data: `limit` orders on `day`, one every 90 minutes from midnight UTC. */
export function loadOrders(day: string, limit: number): Order[] {
  const start = new Date(`${day}T00:00:00Z`);
  return Array.from({ length: limit }, (_, i) => ({
    id: i + 1,
    amountCents: 1250 * (i + 1),
    placedAt: new Date(start.getTime() + i * 90 * 60_000),
  }));
}
