// Small helpers for scripts/dist.mjs: running commands, checking that the tools exist, sizes and digests.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A failure with a message meant for the person running `npm run dist` (no stack trace is printed). */
export class DistError extends Error {}

/**
 * Fails unless `cmd` is on PATH; `hint` says how to get it (e.g. "apt-get install rpm").
 * `command -v` is a shell builtin, so this needs nothing but /bin/sh.
 */
export function need(cmd, hint) {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
  if (!found) throw new DistError(`${cmd} not found: ${hint}`);
}

/**
 * Runs a command and resolves to its stdout; rejects with a DistError naming the command and
 * quoting the end of its output when it fails. Output is collected, not shown, so that a
 * successful run prints only the artifact lines.
 */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new DistError(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(out);
      const tail = `${out}${err}`.trim().split('\n').slice(-30).join('\n');
      reject(new DistError(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}

/** "12.3 MB" and the like, for the artifact lines. */
export function humanSize(bytes) {
  const units = ['B', 'kB', 'MB', 'GB'];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

/** The SHA-256 of a file, hex, streamed (the single executable is ~100 MB). */
export function sha256(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
