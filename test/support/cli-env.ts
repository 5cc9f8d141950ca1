// The environment of the daemon and CLI processes the tests start: what the test gives, plus,
// when the suite runs with coverage (npm run coverage), NODE_V8_COVERAGE so that what the child
// runs is counted too (see coverage.ts).
import { fileURLToPath } from 'node:url';

export const CHILD_COVERAGE_DIR = fileURLToPath(new URL('../../coverage/children/', import.meta.url));

export function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return process.env.NBWSS_CHILD_COVERAGE === '1' ? { ...env, NODE_V8_COVERAGE: CHILD_COVERAGE_DIR } : { ...env };
}
