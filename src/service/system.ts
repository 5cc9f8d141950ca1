// What `service` needs to know of the host (or of the filesystem root it installs into): the
// service user's ids, the systemd version, the command that runs this very executable, and
// files written the way secrets must be (atomically, with their mode and owner from the start).
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Ids {
  uid: number;
  gid: number;
}

/** The user's ids in `root`'s /etc/passwd, or null when it has no such user. */
export function userIds(root: string, user: string): Ids | null {
  let text: string;
  try {
    text = readFileSync(join(root, 'etc/passwd'), 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

/** Runs a command; resolves with its exit code and output, never rejects (a missing command is code 127). */
export function run(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The version `systemctl --version` names ("systemd 239 (239-78.el8)"), or null without systemd. */
export async function systemdVersion(): Promise<number | null> {
  const r = await run('systemctl', ['--version']);
  const m = /^systemd (\d+)/m.exec(r.stdout);
  return r.code === 0 && m ? Number(m[1]) : null;
}

/**
 * The command that runs this executable: the single executable alone, or node and the
 * installed script (resolved through npm's link to the package's own copy).
 */
export function selfCommand(): string[] {
  const exe = process.execPath;
  const script = process.argv[1];
  if (!script || !existsSync(script)) return [exe];
  const real = realpathSync(script);
  return real === realpathSync(exe) ? [exe] : [exe, real];
}

/** Writes a file atomically (a temporary beside it, then renamed), created with its mode and owner. */
export function writeFileAs(path: string, content: string, mode: number, owner: Ids | null): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.nbwss-${process.pid}`;
  writeFileSync(tmp, content, { mode, flag: 'w' });
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, path);
}

/** Makes a directory (and its parents) and sets its mode and owner. */
export function makeDir(path: string, mode: number, owner: Ids | null): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** Gives a secret file to `owner`, readable by it alone. */
export function ownSecret(path: string, owner: Ids): void {
  chownSync(path, owner.uid, owner.gid);
  chmodSync(path, 0o600);
}
