#!/usr/bin/env node
// npm run coverage: builds, then runs the whole suite with coverage; the daemon and CLI
// processes the tests start write theirs to coverage/children/ (NODE_V8_COVERAGE), which is
// counted with the rest. The thresholds are in vitest.config.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(new URL('../coverage', import.meta.url), { recursive: true, force: true });
mkdirSync(new URL('../coverage/children', import.meta.url), { recursive: true });
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npx', ['tsc', '-p', 'tsconfig.json']);
// The dist project (test/dist: the release artifacts) runs no code of src/ that coverage could count.
const args = process.argv.slice(2);
const projects = args.some((a) => a.startsWith('--project')) ? [] : ['--project', 'unit', '--project', 'integration'];
run('npx', ['vitest', 'run', '--coverage', ...projects, ...args], { NBWSS_CHILD_COVERAGE: '1' });
