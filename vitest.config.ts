import { defineConfig, type Plugin } from 'vitest/config';
import { buildConsolePage } from './functions/console/page-assets.ts';

/** `virtual:console-page` for tests that import the console function, as its esbuild plugin gives it. */
const consolePage: Plugin = {
  name: 'console-page',
  resolveId: (id) => (id === 'virtual:console-page' ? '\0virtual:console-page' : undefined),
  load: async (id) =>
    id === '\0virtual:console-page'
      ? `export default ${JSON.stringify(await buildConsolePage())};`
      : undefined,
};

/**
 * Three suites, each with its own npm script: unit (no network), integration (handlers and clients
 * against the real local stack) and e2e (HTTP through `sls offline`). The last two bring the stack up
 * through the project's own scripts if it is not up, and take it down again afterwards.
 */
export default defineConfig({
  test: {
    // The functions' structured logs would drown the test report; the tests assert on results.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'plugins/*/tests/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        plugins: [consolePage],
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts', 'plugins/*/tests/integration/**/*.test.ts'],
          globalSetup: ['tests/support/stack-global-setup.ts'],
          // The tests share one stack and some of them kill and restart its services.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/support/stack-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
