// What `service` needs to know of the host (or of the filesystem root it installs into): the
// service user's ids, the systemd version, the command that runs this very executable, and
// files written the way root must write them: never through a symlink, atomically, with their
// mode and owner set on the open file whatever the umask.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InstallError } from './errors.js';

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
    if (f[0] === user && f.length >= 4 && /^\d+$/.test(f[2] ?? '') && /^\d+$/.test(f[3] ?? '')) return { uid: Number(f[2]), gid: Number(f[3]) };
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

/** `path` under the filesystem root `root` ('/' is this host's). */
export const atRoot = (root: string, path: string): string => (root === '/' ? path : join(root, path));

/** Where a unit of nbwss-bridge may be, the one systemd prefers first. */
const UNIT_PATHS = ['/etc/systemd/system/nbwss-bridge.service', '/usr/lib/systemd/system/nbwss-bridge.service', '/lib/systemd/system/nbwss-bridge.service'];
const DROP_INS = '/etc/systemd/system/nbwss-bridge.service.d';

/** The unit systemd uses for nbwss-bridge under `root`, its drop-ins appended to its text; null when there is none. */
export function unitInForce(root: string): { path: string; text: string } | null {
  const path = UNIT_PATHS.map((p) => atRoot(root, p)).find((p) => existsSync(p));
  if (path === undefined) return null;
  let text = readFileSync(path, 'utf8');
  const dir = atRoot(root, DROP_INS);
  if (existsSync(dir)) for (const f of readdirSync(dir).filter((n) => n.endsWith('.conf')).sort()) text += `\n${readFileSync(join(dir, f), 'utf8')}`;
  return { path, text };
}

/** What `systemctl is-active nbwss-bridge.service` says: active, inactive, failed …, or unknown. */
export async function serviceState(): Promise<string> {
  return (await run('systemctl', ['is-active', 'nbwss-bridge.service'])).stdout.trim() || 'unknown';
}

/** The version `systemctl --version` names ("systemd 239 (239-78.el8)"), or null without systemd. */
export async function systemdVersion(): Promise<number | null> {
  const r = await run('systemctl', ['--version']);
  const m = /^systemd (\d+)/m.exec(r.stdout);
  return r.code === 0 && m ? Number(m[1]) : null;
}

/**
 * The command that runs this executable: the single executable alone, or node and the
 * installed script (resolved through npm's link to the package's own copy). `sea` says whether
 * this is the single executable (whose argv[1] is only the name it was typed as).
 */
export function selfCommand(sea: boolean, argv1 = process.argv[1]): string[] {
  const exe = realpathSync(process.execPath);
  if (sea || !argv1 || !argv1.startsWith('/') || !existsSync(argv1)) return [exe];
  const real = realpathSync(argv1);
  return real === exe ? [exe] : [exe, real];
}

/**
 * Refuses a path whose existing part runs through a symlink, or through a directory that
 * someone other than root (or this user) could change under it: not theirs, or writable by
 * others (without the sticky bit) or by a group other than root's. The last component is
 * checked too unless `final` is false (a path about to be removed may itself be a link).
 */
export function checkPath(path: string, final = true): void {
  const parts: string[] = [];
  for (let p = path; p !== dirname(p); p = dirname(p)) parts.push(p);
  const uid = process.getuid?.() ?? 0;
  for (const q of parts.reverse()) {
    let st;
    try {
      st = lstatSync(q);
    } catch {
      return; // the rest does not exist yet: it is made here
    }
    const last = q === path;
    if (st.isSymbolicLink()) {
      if (last && !final) return;
      throw new InstallError(`${q} is a symbolic link; refusing to write through it`);
    }
    if (last || !st.isDirectory()) continue;
    const sticky = (st.mode & 0o1000) !== 0;
    if ((st.uid !== 0 && st.uid !== uid) || ((st.mode & 0o002) !== 0 && !sticky) || ((st.mode & 0o020) !== 0 && st.gid !== 0 && !sticky)) {
      throw new InstallError(`${q} can be changed by another user (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}); refusing to write below it`);
    }
  }
}

/** Writes a file atomically (a fresh temporary beside it, synced, then renamed), created with its mode and owner. */
export function writeFileAs(path: string, content: string, mode: number, owner: Ids | null): void {
  makeDir(dirname(path), null, null);
  checkPath(path);
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, mode);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  syncDir(dirname(path));
}

function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes a directory: each missing parent gets 0755 (set, not left to the umask); the directory
 * itself gets `mode` and `owner` when given. A symlink on the way is refused.
 */
export function makeDir(path: string, mode: number | null, owner: Ids | null): void {
  checkPath(path);
  const missing: string[] = [];
  for (let p = path; !existsSync(p); p = dirname(p)) missing.unshift(p);
  for (const p of missing) {
    mkdirSync(p, { mode: 0o755 });
    chmodSync(p, 0o755);
  }
  if (!lstatSync(path).isDirectory()) throw new InstallError(`${path} exists and is not a directory`);
  if (mode !== null) chmodSync(path, mode);
  if (owner) fchownPath(path, owner);
}

function fchownPath(path: string, owner: Ids): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  try {
    fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/** Gives a secret file to `owner`, readable by it alone (not through a symlink, nor a file with other names). */
export function ownSecret(path: string, owner: Ids): void {
  checkPath(path);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (fstatSync(fd).nlink !== 1) throw new InstallError(`${path} has other hard links; refusing to change its owner`);
    fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** Removes a file or directory tree (a symlink itself, not what it points to), refusing a path that runs through one. */
export function removePath(path: string): void {
  checkPath(path, false);
  rmSync(path, { recursive: true, force: true });
}

/** Refuses a --root that others could have prepared: not a directory of root's (or this user's), or writable by group or others. */
export function checkRoot(root: string, uid: number): void {
  if (root === '/') return;
  const st = lstatSync(root);
  if (!st.isDirectory()) throw new InstallError(`--root ${root} is not a directory`);
  if (st.uid !== uid && st.uid !== 0) throw new InstallError(`--root ${root} belongs to uid ${st.uid}, not to this user: refusing to write files another user prepared`);
  if ((st.mode & 0o022) !== 0) throw new InstallError(`--root ${root} can be written by its group or others (mode ${(st.mode & 0o777).toString(8)}): chmod go-w it first`);
}
