import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // `npm run coverage`: the whole suite with coverage, the processes the tests start included
    // (test/support/coverage.ts); below these figures the run fails, so coverage cannot quietly fall.
    coverage: {
      provider: 'custom',
      customProviderModule: './test/support/coverage.ts',
      include: ['src/**/*.ts'],
      exclude: ['src/demo/**'],
      reporter: ['text-summary', ['json-summary', { file: 'coverage-summary.json' }], ['text', { skipFull: true }]],
      reportsDirectory: './coverage',
      thresholds: { statements: 96, branches: 89, functions: 95, lines: 96 },
    },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      // The artifacts of npm run dist (release/), tried for real; not part of coverage (scripts/coverage.mjs).
      {
        test: {
          name: 'dist',
          include: ['test/dist/**/*.test.ts'],
          environment: 'node',
          testTimeout: 240_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
