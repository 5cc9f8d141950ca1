// doctor's checks of this host: the secret files, the state directory, and systemd with the
// unit it would run.
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { credentialName } from '../config/files.js';
import { join } from 'node:path';
import type { Env } from '../config/files.js';
import type { Config } from '../config/load.js';
import { secretFiles } from '../config/secrets.js';
import { serviceState, systemdVersion, unitInForce, userIds } from '../service/system.js';
import { CREDENTIALS_SINCE, SERVICE_USER } from '../service/unit.js';
import { fail, ok, skip, warn, type CheckResult } from './report.js';

/** Every secret file: readable, and readable by its owner alone. */
/**
 * Every secret file: readable, readable by its owner alone, and owned by who reads it for the
 * service (`reader`: the service user where the unit has it read its own files, root where
 * systemd hands them over; null when no unit says).
 */
export function checkSecrets(config: Config, env: Env, reader: SecretReader | null = null): CheckResult[] {
  const files = secretFiles(config, env);
  if (files.length === 0) return [skip('secret-files', 'the configuration names no secret file (the token is given inline or by variable)')];
  return files.map((f) => {
    const via = f.credential ? ` (systemd credential "${f.credential}")` : '';
    let st;
    try {
      accessSync(f.file, constants.R_OK);
      st = statSync(f.file);
    } catch (err) {
      return fail('secret-files', `${f.key}: cannot read ${f.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 'create the file, or give the user doctor runs as the right to read it', f.file);
    }
    const mode = st.mode & 0o777;
    if (reader?.credentials && !f.credential && !reader.credentials.has(credentialName(f.path))) {
      return fail('secret-files', `${f.key}: the unit does not hand ${f.path} over as a credential, and the service cannot read it itself`, 'nbwss-bridge service install (it writes a LoadCredential= line for every secret file the configuration names)', f.file);
    }
    if (reader && !reader.credentials && !f.credential && st.uid !== reader.uid) {
      return fail('secret-files', `${f.key}: owned by uid ${st.uid}, but the service reads it as ${reader.name}`, `chown ${reader.name} ${f.path} && chmod 600 ${f.path}`, f.file);
    }
    if ((mode & 0o077) !== 0) return warn('secret-files', `${f.key}: mode ${mode.toString(8)}${via}: its group or others can read it`, `chmod 600 ${f.path}`, f.file);
    return ok('secret-files', `${f.key}: readable, mode ${mode.toString(8)}${via}`, f.file);
  });
}

/** Who reads the secret files for the installed unit, and the credentials it hands over (null: the service reads its own files). */
export interface SecretReader {
  uid: number;
  name: string;
  credentials: ReadonlySet<string> | null;
}

/** The unit in force (its drop-ins included) says who reads the secret files; null without a unit. */
export function secretReader(root = '/'): SecretReader | null {
  const unit = unitInForce(root);
  if (unit === null) return null;
  const names = [...unit.text.matchAll(/^LoadCredential=([^:\n]+):/gm)].map((m) => m[1] as string);
  if (names.length > 0) return { uid: 0, name: 'root (systemd)', credentials: new Set(names) };
  const ids = userIds(root, SERVICE_USER);
  return ids && { uid: ids.uid, name: SERVICE_USER, credentials: null };
}

/** The state directory: set, there, and writable. */
export function checkStateDir(config: Config): CheckResult {
  const dir = config.state.dir;
  if (dir === null) return warn('state-dir', 'state.dir is not set: ids and answers are kept in memory only, so a restart forgets them', 'set state.dir (the unit provides /var/lib/nbwss-bridge)');
  if (!existsSync(dir)) {
    return dir === '/var/lib/nbwss-bridge'
      ? warn('state-dir', `${dir} does not exist yet`, 'systemd makes it when the service starts (StateDirectory=); or run nbwss-bridge service install', dir)
      : fail('state-dir', `${dir} does not exist`, `create it for the service user: install -d -m 0700 -o nbwss-bridge ${dir}`, dir);
  }
  const probe = join(dir, `.doctor-${randomBytes(6).toString('hex')}`);
  try {
    // A new file only (never through a symlink the service user may have left there).
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    rmSync(probe);
  } catch (err) {
    return fail('state-dir', `${dir} is not writable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, `chown nbwss-bridge ${dir} && chmod 700 ${dir}`, dir);
  }
  return ok('state-dir', 'exists and is writable', dir);
}

/** The oldest systemd that knows every directive a unit uses (of those the variants differ by). */
export function unitNeeds(text: string): number {
  if (/^(LoadCredential|ProtectProc|ProtectClock|ProcSubset)=/m.test(text)) return CREDENTIALS_SINCE;
  return /^Type=exec/m.test(text) ? 240 : 239;
}

/**
 * systemd's version, whether the unit in force uses only what that version has, and the
 * service's state (`state`: what serviceState said, asked here when not given).
 */
export async function checkSystemd(root = '/', state?: string): Promise<CheckResult[]> {
  const version = await systemdVersion();
  if (version === null) return [skip('systemd', 'no systemd here (systemctl --version gave nothing): run the bridge under the service manager this host has')];
  const unit = unitInForce(root);
  if (unit === null) return [warn('systemd', `systemd ${version}; no nbwss-bridge unit installed`, 'nbwss-bridge service install')];
  const needs = unitNeeds(unit.text);
  if (version < needs) {
    return [fail('systemd', `systemd ${version}, but ${unit.path} uses directives of systemd ${needs} (LoadCredential= and others): the token would never reach the service`, 'nbwss-bridge service install (it writes the unit variant for this systemd)')];
  }
  const out = [ok('systemd', `systemd ${version}; ${unit.path} fits it (${/^LoadCredential=/m.test(unit.text) ? 'secrets as credentials' : 'secrets read by the service user'})`)];
  state ??= await serviceState();
  out.push(state === 'active' ? ok('systemd', 'nbwss-bridge.service is active') : warn('systemd', `nbwss-bridge.service is ${state}`, 'systemctl status nbwss-bridge; journalctl -u nbwss-bridge -n 50'));
  return out;
}
