// bench workload "native": a dependency with a native addon (better-sqlite3, built from source).
import { flow } from "flowpack";
import Database from "better-sqlite3";
import { z } from "zod";

const VARIANT = "base"; // the benchmark's code-only change rewrites this one line

export const native = flow(
  {
    name: "bench-native",
    description: "Aggregates rows in an in-memory SQLite database",
    parameters: z.object({ rows: z.number().int().positive().default(1000) }),
  },
  async ({ rows }) => {
    const db = new Database(":memory:");
    try {
      db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, price REAL)");
      const insert = db.prepare("INSERT INTO items (price) VALUES (?)");
      db.transaction((n) => {
        for (let i = 0; i < n; i++) insert.run((i % 100) / 4);
      })(rows);
      const { count, total } = db.prepare("SELECT COUNT(*) AS count, ROUND(SUM(price), 2) AS total FROM items").get();
      return { variant: VARIANT, count, total, sqlite: db.prepare("SELECT sqlite_version() AS v").get().v };
    } finally {
      db.close();
    }
  },
);
