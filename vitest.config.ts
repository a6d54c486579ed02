import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // services/<name>/<name>.test.ts: the test `switchyard new-service` writes beside a new service.
    include: [
      "gateway/**/*.spec.ts",
      "services/**/*.spec.ts",
      "services/**/*.test.ts",
      "dashboard/**/*.spec.ts",
      "test/**/*.test.ts",
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests start real servers on ephemeral ports; forks keep
    // one test file's sockets and timers from leaking into another.
    pool: "forks",
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
