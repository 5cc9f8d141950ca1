// The tests mutation testing runs (npm run mutate): the unit tests, which drive every mutated
// folder without I/O, the auth profiles against their simulators, and the polling client. Each mutant runs every
// test that reaches it, so the slower integration tests (timers, large answers, child
// processes) would turn minutes into hours; what they add is listed with the score in the README.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/backends.test.ts',
      'test/integration/nbapi.test.ts',
    ],
    // Reads the sizes of the source files, which mutation testing rewrites.
    exclude: ['test/unit/structure.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
