import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/services.ts"],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one dockerd and two registries; files run in parallel, tests in a file in order.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "./test/setup/summary-reporter.ts"],
  },
});
