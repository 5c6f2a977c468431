import { defineConfig } from "vitest/config";

// Two projects: unit tests need nothing but Node (`npm run test:unit`); integration tests talk to a
// real dockerd and registries, which their global setup starts (`npm run test:integration`).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one dockerd and two registries; files run in parallel, tests in a file in order.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "./test/setup/summary-reporter.ts"],
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], globalSetup: ["test/setup/services.ts"] } },
    ],
  },
});
