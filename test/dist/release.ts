// What `npm run dist` leaves in release/, and running commands on it.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RELEASE = join(ROOT, 'release');
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The artifacts by kind, as scripts/dist.mjs names them. */
export const ARTIFACTS = {
  sea: join(RELEASE, `nbwss-bridge-${VERSION}-linux-x64`),
  deb: join(RELEASE, `nbwss-bridge_${VERSION}_amd64.deb`),
  rpm: join(RELEASE, `nbwss-bridge-${VERSION}-1.x86_64.rpm`),
  tgz: join(RELEASE, `nbwss-bridge-${VERSION}.tgz`),
  sums: join(RELEASE, 'SHA256SUMS'),
};

/** Why the artifacts cannot be tested, or null when they are all there. */
export function missingArtifacts(): string | null {
  const missing = Object.values(ARTIFACTS).filter((f) => !existsSync(f));
  if (missing.length === 0) return null;
  return `release/ lacks ${missing.map((f) => f.slice(RELEASE.length + 1)).join(', ')}: run npm run dist first`;
}

/** The paths both packages install. */
export const INSTALLED = ['/usr/bin/nbwss-bridge', '/usr/lib/systemd/system/nbwss-bridge.service', '/usr/share/nbwss-bridge/systemd/nbwss-bridge.service', '/etc/nbwss-bridge/config.json'];

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs a command to its end; a command that does not exist resolves with code null and the error as stderr. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? { PATH: process.env.PATH ?? '' },
      stdio: 'pipe',
      timeout: opts.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}).end(opts.input ?? '');
    child.on('error', (err) => resolve({ code: null, signal: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Whether a command is on PATH. */
export const onPath = async (cmd: string): Promise<boolean> => (await exec('sh', ['-c', 'command -v "$1"', 'sh', cmd])).code === 0;
