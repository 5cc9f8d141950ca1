// `nbwss-bridge service install`: from flags and a token on standard input to a running, checked
// service. Every step is said before it is done (and only said with --dry-run); under --root the
// files go below that directory and systemctl is not run.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config/load.js';
import { secretFiles } from '../config/secrets.js';
import { ConfigError } from '../errors.js';
import { fetchCa, normalizeFingerprint, type FetchedCa } from './ca.js';
import { checkUnderRoot, withFlags, type JsonObject } from './config-file.js';
import { makeDir, ownSecret, userIds, writeFileAs, type Ids } from './system.js';
import { CONFIG_FILE, CREDENTIALS_SINCE, renderUnit, SERVICE_USER, variantFor, type UnitVariant } from './unit.js';

export const PATHS = {
  dir: '/etc/nbwss-bridge',
  config: CONFIG_FILE,
  token: '/etc/nbwss-bridge/token',
  ca: '/etc/nbwss-bridge/netbackup-ca.pem',
  unit: '/etc/systemd/system/nbwss-bridge.service',
  state: '/var/lib/nbwss-bridge',
} as const;

/** What the command line and the host give `service`. */
export interface ServiceIo {
  out(line: string): void;
  /** The secret read from standard input ('' when none). */
  readToken(): Promise<string>;
  /** Asks the operator on the terminal; null when there is none. */
  ask(question: string): Promise<string | null>;
  /** Runs a command as the host's root (systemctl, useradd); only without --root. */
  exec(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The REST API's CA answer (the real fetch unless a test gives another). */
  fetchCa?(baseUrl: string): Promise<FetchedCa>;
}

export interface InstallOptions {
  root: string;
  dryRun: boolean;
  overrides: Readonly<Record<string, string>>;
  caFingerprint?: string;
  variant?: string;
  systemdVersion: number | null;
  exec: readonly string[];
}

/** A problem that stops the install: printed as one line, exit 2. */
export class InstallError extends Error {}

const at = (root: string, path: string) => (root === '/' ? path : join(root, path));

function readJson(path: string): JsonObject | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
  } catch (err) {
    throw new InstallError(`${path} is not valid JSON (${(err as Error).message.slice(0, 80)}); fix or remove it first`);
  }
}

/** The configuration to write: the one there (or none) with the flags set, and the paths install manages. */
export function plannedConfig(existing: JsonObject | null, overrides: Readonly<Record<string, string>>): JsonObject {
  const config = withFlags(existing ?? {}, overrides);
  const cloud = ((config.cloud ??= {}) as JsonObject);
  const names = (k: string) => typeof cloud[k] === 'string' || (Array.isArray(cloud[k]) && (cloud[k] as unknown[]).length > 0);
  if (!names('token') && !names('endpointsFile') && !names('endpoints') && (!names('tokenFile') || String(cloud.tokenFile).startsWith('${CREDENTIALS_DIRECTORY}'))) {
    cloud.tokenFile = PATHS.token;
  }
  const state = ((config.state ??= {}) as JsonObject);
  if (typeof state.dir !== 'string' || state.dir.startsWith('${STATE_DIRECTORY}')) state.dir = PATHS.state;
  if (typeof cloud.url === 'string' && new URL(cloud.url).hostname === 'cloud.example.com') {
    throw new InstallError('cloud.url is still the example\'s (cloud.example.com): pass --cloud-url with the endpoint the cloud application gave you');
  }
  if (typeof cloud.url !== 'string' && !names('endpointsFile') && !names('endpoints')) throw new InstallError('no cloud endpoint: pass --cloud-url (or --endpoints-file)');
  return config;
}

/** The CA to trust for the REST API, confirmed by its fingerprint; null when none is needed or one is named already. */
async function confirmedCa(config: JsonObject, o: InstallOptions, io: ServiceIo): Promise<FetchedCa | null> {
  const rest = ((config.rest ??= {}) as JsonObject);
  const baseUrl = typeof rest.baseUrl === 'string' ? rest.baseUrl : 'https://localhost:1556';
  if (!baseUrl.startsWith('https:')) return null;
  if ('rest.caFile' in o.overrides) return null;
  if (typeof rest.caFile === 'string' && rest.caFile !== PATHS.ca && existsSync(at(o.root, rest.caFile))) return null;
  if (o.dryRun) {
    io.out(`would fetch the REST API's CA from ${baseUrl}/netbackup/security/cacert and write ${PATHS.ca} once its SHA-256 fingerprint is confirmed`);
    rest.caFile = PATHS.ca;
    return null;
  }
  let ca: FetchedCa;
  try {
    ca = await (io.fetchCa ?? fetchCa)(baseUrl);
  } catch (err) {
    if (typeof rest.caFile === 'string' && existsSync(at(o.root, rest.caFile))) return null;
    throw new InstallError(`cannot get the REST API's CA: ${(err as Error).message}; save it as PEM and pass --rest-ca-file FILE`);
  }
  io.out(`the REST API at ${new URL(baseUrl).host} presents the CA "${ca.subject}" (valid to ${ca.validTo})`);
  io.out(`  SHA-256 fingerprint ${ca.fingerprint}`);
  if (o.caFingerprint !== undefined) {
    if (normalizeFingerprint(o.caFingerprint) !== ca.fingerprint) {
      throw new InstallError(`the CA's SHA-256 fingerprint is ${ca.fingerprint}, not the --ca-fingerprint given (${normalizeFingerprint(o.caFingerprint) || 'not a fingerprint'}); something may stand between this host and the REST API`);
    }
  } else {
    const answer = await io.ask('Is this the fingerprint NetBackup shows for its CA (web UI: Security > Certificates; or nbcertcmd -listCACertDetails)? [y/N] ');
    if (answer === null) throw new InstallError(`confirm the CA without a terminal: pass --ca-fingerprint ${ca.fingerprint} once you have checked it`);
    if (!/^y(es)?$/i.test(answer.trim())) throw new InstallError('the CA was not confirmed; nothing was written');
  }
  rest.caFile = PATHS.ca;
  return ca;
}

/** The secret files the service reads, as credentials named after each file; two of the same name cannot both be. */
function credentialsOf(checked: Config, root: string): { name: string; path: string }[] {
  const out = new Map<string, string>();
  for (const f of secretFiles(checked, {})) {
    const path = root === '/' ? f.path : f.path.slice(root.length);
    const name = basename(path);
    if (out.has(name) && out.get(name) !== path) {
      throw new InstallError(`two secret files share the name ${name} (${out.get(name)} and ${path}); rename one, or install with --unit-variant files`);
    }
    out.set(name, path);
  }
  return [...out].map(([name, path]) => ({ name, path }));
}

export async function install(o: InstallOptions, io: ServiceIo): Promise<void> {
  const say = (line: string) => io.out(o.dryRun ? `would ${line}` : line);
  const variant = (o.variant ?? variantFor(o.systemdVersion ?? 239)) as UnitVariant;
  if (variant !== 'credentials' && variant !== 'files') throw new InstallError(`--unit-variant must be credentials or files, not ${variant}`);
  if (variant === 'credentials' && o.systemdVersion !== null && o.systemdVersion < CREDENTIALS_SINCE) {
    throw new InstallError(`systemd ${o.systemdVersion} has no LoadCredential= (it came in ${CREDENTIALS_SINCE}): use --unit-variant files`);
  }
  const config = plannedConfig(readJson(at(o.root, PATHS.config)), o.overrides);
  const cloud = config.cloud as JsonObject;

  const managesToken = cloud.tokenFile === PATHS.token;
  const token = o.dryRun || !managesToken ? '' : (await io.readToken()).replace(/\r?\n$/, '');
  if (managesToken && token === '' && !o.dryRun && !existsSync(at(o.root, PATHS.token))) {
    throw new InstallError('no endpoint token on standard input: pipe it in (nbwss-bridge service install ... < token-file), or type it when asked');
  }
  if (/[\r\n]/.test(token)) throw new InstallError('the token on standard input has more than one line');
  const ca = await confirmedCa(config, o, io);

  if (o.root === '/' && !o.dryRun && userIds('/', SERVICE_USER) === null) {
    say(`create the system user ${SERVICE_USER}`);
    const r = await io.exec('useradd', ['--system', '--user-group', '--home-dir', PATHS.state, '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
    if (r.code !== 0) throw new InstallError(`useradd failed: ${r.stderr.trim().slice(0, 200)}`);
  }
  const ids: Ids | null = userIds(o.root, SERVICE_USER);
  if (ids === null && !o.dryRun) io.out(`note: ${at(o.root, '/etc/passwd')} has no user ${SERVICE_USER}; files keep root as owner`);
  const group: Ids | null = ids && { uid: 0, gid: ids.gid };
  const secretOwner = variant === 'files' ? ids : null;

  say(`write ${PATHS.dir} (0750, root:${SERVICE_USER}) and ${PATHS.state} (0700, ${SERVICE_USER})`);
  if (!o.dryRun) {
    makeDir(at(o.root, PATHS.dir), 0o750, group);
    makeDir(at(o.root, PATHS.state), 0o700, ids);
  }
  if (token !== '') {
    say(`write the endpoint token to ${PATHS.token} (0600, ${variant === 'files' ? SERVICE_USER : 'root; handed over by systemd'})`);
    if (!o.dryRun) writeFileAs(at(o.root, PATHS.token), `${token}\n`, 0o600, secretOwner);
  }
  if (ca) {
    say(`write the REST API's CA to ${PATHS.ca} (0644)`);
    writeFileAs(at(o.root, PATHS.ca), ca.pem, 0o644, null);
  }
  say(`write ${PATHS.config} (0640, root:${SERVICE_USER})`);
  if (o.dryRun) {
    io.out(JSON.stringify(config, null, 2));
    say(`write ${PATHS.unit} (variant ${variant}), check the configuration, then systemctl daemon-reload, enable and restart nbwss-bridge`);
    return;
  }
  writeFileAs(at(o.root, PATHS.config), `${JSON.stringify(config, null, 2)}\n`, 0o640, group);

  let checked: Config;
  try {
    checked = checkUnderRoot(config, o.root);
  } catch (err) {
    if (err instanceof ConfigError) throw new InstallError(`the configuration written to ${PATHS.config} does not pass check-config:\n  ${err.problems.join('\n  ')}`);
    throw err;
  }
  io.out('check-config: the configuration is valid');
  if (variant === 'files' && ids) {
    for (const f of secretFiles(checked, {})) ownSecret(f.file, ids);
  }
  const unit = renderUnit({ variant, exec: o.exec, credentials: variant === 'credentials' ? credentialsOf(checked, o.root) : [] });
  say(`write ${PATHS.unit} (variant ${variant}${o.systemdVersion ? ` for systemd ${o.systemdVersion}` : ''})`);
  writeFileAs(at(o.root, PATHS.unit), unit, 0o644, null);
  if (o.root !== '/') return;
  for (const args of [['daemon-reload'], ['enable', 'nbwss-bridge.service'], ['restart', 'nbwss-bridge.service']]) {
    say(`run systemctl ${args.join(' ')}`);
    const r = await io.exec('systemctl', args);
    if (r.code !== 0) throw new InstallError(`systemctl ${args.join(' ')} failed: ${r.stderr.trim().slice(0, 300)}; see journalctl -u nbwss-bridge`);
  }
}

