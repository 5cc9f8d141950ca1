// The tests mutation testing runs (npm run mutate): the unit tests and the integration tests
// that run the daemon in-process. Files that only run the built binary (child processes)
// cannot see a mutant in src/, so they are left out; so is the Tomcat test, whose policy
// checks the unit tests cover.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/backends.test.ts',
      'test/integration/bridge.test.ts',
      'test/integration/faults.test.ts',
      'test/integration/hardening.test.ts',
      'test/integration/link.test.ts',
      'test/integration/notifications.test.ts',
      'test/integration/operations.test.ts',
      'test/integration/rest-client.test.ts',
      'test/integration/reload.test.ts',
    ],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
