import { defineConfig } from 'vitest/config';

/**
 * The plugin's own tests, runnable without the project around it (`npm test` in this folder): unit
 * (no network) and integration (a Kafka broker and an SQS endpoint, see tests/integration/broker.ts,
 * with a fake Lambda invoke API in place of serverless-offline's). The project's test command runs
 * the same files inside its own suites, with its stack.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', root: import.meta.dirname, include: ['tests/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          root: import.meta.dirname,
          include: ['tests/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
