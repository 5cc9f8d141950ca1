// `service uninstall` and `service rotate-token`: the other two things an operator does to the
// installed service.
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkToken, InstallError, PATHS, readJson, type ServiceIo } from './install.js';
import { atRoot as at, removePath, unitInForce, userIds, writeFileAs } from './system.js';
import { SERVICE_USER } from './unit.js';

export interface ManageOptions {
  root: string;
  dryRun: boolean;
}

/** Stops and removes the unit; with purge also the configuration, secrets and state. */
export async function uninstall(o: ManageOptions & { purge: boolean }, io: ServiceIo): Promise<void> {
  const say = (line: string) => io.out(o.dryRun ? `would ${line}` : line);
  if (o.root === '/') {
    say('run systemctl disable --now nbwss-bridge.service');
    if (!o.dryRun) await io.exec('systemctl', ['disable', '--now', 'nbwss-bridge.service']);
  }
  say(`remove ${PATHS.unit}`);
  if (!o.dryRun) removePath(at(o.root, PATHS.unit));
  if (o.root === '/') {
    say('run systemctl daemon-reload');
    if (!o.dryRun) await io.exec('systemctl', ['daemon-reload']);
  }
  if (!o.purge) {
    io.out(`kept ${PATHS.dir} and ${PATHS.state} (answers and ids of calls survive a reinstall); --purge removes them`);
    return;
  }
  for (const dir of [PATHS.dir, PATHS.state]) {
    say(`remove ${dir}`);
    if (!o.dryRun) removePath(at(o.root, dir));
  }
  io.out('the system user nbwss-bridge is kept (a package removal, or userdel nbwss-bridge, removes it)');
}

/** The source file of the endpoint token the installed configuration names. */
function tokenSource(root: string): string {
  const config = readJson(at(root, PATHS.config)) as { cloud?: { tokenFile?: unknown } } | null;
  if (config === null) throw new InstallError(`${PATHS.config} does not exist: run nbwss-bridge service install first`);
  const named = config.cloud?.tokenFile;
  if (typeof named !== 'string') throw new InstallError(`${PATHS.config} names no cloud.tokenFile: tokens in an endpoints file are rotated by replacing that file, then systemctl restart nbwss-bridge (reload where the unit has no LoadCredential=)`);
  // A configuration written for systemd's copy names the credential; its source is the file of that name in /etc/nbwss-bridge.
  const source = named.startsWith('${CREDENTIALS_DIRECTORY}/') ? join(PATHS.dir, basename(named)) : named;
  if (!source.startsWith('/') || source.includes('${')) throw new InstallError(`cloud.tokenFile ${JSON.stringify(source)} is not an absolute path here; write the token there yourself, then systemctl reload nbwss-bridge`);
  return source;
}

/**
 * Writes a new endpoint token (from standard input) over its source file, keeping its owner and
 * mode, and makes the service use it: a reload re-reads the file where the service reads it
 * itself; where systemd hands it over as a credential (copied at start only), a restart.
 */
export async function rotateToken(o: ManageOptions, io: ServiceIo): Promise<void> {
  const source = tokenSource(o.root);
  const token = o.dryRun ? 'x' : (await io.readToken(true)).replace(/\r?\n$/, '');
  if (token === '') throw new InstallError('no token on standard input: nbwss-bridge service rotate-token < new-token-file');
  const credentials = /^LoadCredential=/m.test(unitInForce(o.root)?.text ?? '');
  if (!o.dryRun) checkToken(token);
  const before = existsSync(at(o.root, source)) ? statSync(at(o.root, source)) : null;
  // A new file is the service user's where the service reads it itself (before systemd 247), root's where systemd does.
  const owner = before ? { uid: before.uid, gid: before.gid } : credentials ? null : userIds(o.root, SERVICE_USER);
  io.out(`${o.dryRun ? 'would write' : 'writing'} the new token to ${source} (0600)`);
  if (!o.dryRun) writeFileAs(at(o.root, source), `${token}\n`, 0o600, owner);
  // systemd copies credentials when the service starts; a reload would keep the old copy.
  const action = credentials ? 'restart' : 'reload';
  if (o.root !== '/') {
    io.out(`then: systemctl ${action} nbwss-bridge.service (not run with --root)`);
    return;
  }
  io.out(`${o.dryRun ? 'would run' : 'running'} systemctl ${action} nbwss-bridge.service${credentials ? ' (systemd hands the token over at start only; a graceful restart: calls in flight finish first)' : ''}`);
  if (o.dryRun) return;
  const r = await io.exec('systemctl', [action, 'nbwss-bridge.service']);
  if (r.code !== 0) throw new InstallError(`systemctl ${action} failed: ${r.stderr.trim().slice(0, 300)}`);
  io.out('the next dial uses the new token; the connection open now keeps its session until it ends');
}
