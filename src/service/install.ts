// `nbwss-bridge service install`: from flags and a token on standard input to a running, checked
// service. Every step is said before it is done (and only said with --dry-run); under --root the
// files go below that directory and systemctl is not run.
import { existsSync } from 'node:fs';
import { readConfigFile, type Config } from '../config/load.js';
import { credentialName } from '../config/files.js';
import { secretFiles } from '../config/secrets.js';
import { ConfigError } from '../errors.js';
import { fetchCa, normalizeFingerprint, serverFacts, type FetchedCa } from './ca.js';
import { checkPlanned, withFlags, type JsonObject } from './config-file.js';
import { redactValue } from '../config/redact.js';
import { InstallError } from './errors.js';
import { atRoot as at, checkPath, makeDir, ownSecret, userIds, writeFileAs, type Ids } from './system.js';
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
  /** The secret read from standard input ('' when none); `prompt` false: only what is piped in, never asked for. */
  readToken(prompt: boolean): Promise<string>;
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

export { InstallError };

/** The configuration file installed under `path`, or null when there is none; one that cannot be read stops the install. */
export function readJson(path: string): JsonObject | null {
  if (!existsSync(path)) return null;
  const problems: string[] = [];
  const json = readConfigFile(path, problems);
  if (json === null) throw new InstallError(`${problems.join('; ')}; fix or remove it first`);
  return json;
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
  if (typeof cloud.url === 'string' && URL.canParse(cloud.url) && new URL(cloud.url).hostname === 'cloud.example.com') {
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
    const given = normalizeFingerprint(o.caFingerprint);
    if (given === null) throw new InstallError(`--ca-fingerprint must be a SHA-256 fingerprint (64 hex digits, colons optional), such as ${ca.fingerprint}`);
    if (given !== ca.fingerprint) {
      throw new InstallError(`the CA's SHA-256 fingerprint is ${ca.fingerprint}, not the --ca-fingerprint given (${given}); something may stand between this host and the REST API`);
    }
  } else {
    const answer = await io.ask('Is this the fingerprint NetBackup shows for its CA (web UI: Security > Certificates; or nbcertcmd -listCACertDetails)? [y/N] ');
    if (answer === null) throw new InstallError(`confirm the CA without a terminal: pass --ca-fingerprint ${ca.fingerprint} once you have checked it`);
    if (!/^y(es)?$/i.test(answer.trim())) throw new InstallError('the CA was not confirmed; nothing was written');
  }
  rest.caFile = PATHS.ca;
  const server = serverFacts(ca);
  const host = new URL(baseUrl).hostname;
  if (server && !server.signed) io.out('note: the REST API\'s certificate is not signed by that CA directly (an intermediate between them?); doctor checks the chain');
  // NetBackup's certificate names the primary server, often not localhost: the name it holds is the one to check.
  const named = server !== null && (server.names.includes(host) || server.addresses.includes(host.replace(/^\[|\]$/g, '')));
  if (server?.signed && server.names.length > 0 && !named && !('rest.servername' in o.overrides) && typeof rest.servername !== 'string') {
    rest.servername = server.names[0];
    io.out(`the REST API's certificate names ${server.names.join(', ')}, not ${host}: rest.servername set to ${server.names[0]}`);
  }
  return ca;
}

/** A path as it may be written into a unit as is: absolute, normalised, of letters, digits, ".", "_", "-" and "/" (systemd reads % and $ itself). */
const PLAIN_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+)+$/;

/** The secret files the service reads, each handed over as a credential named after its path. */
function credentialsOf(checked: Config, pathOf: (read: string) => string): { name: string; path: string }[] {
  const out = new Map<string, string>();
  for (const f of secretFiles(checked, {})) {
    const path = pathOf(f.path);
    if (!PLAIN_PATH.test(path)) throw new InstallError(`${f.key}: ${JSON.stringify(path)} is not a plain absolute path (letters, digits, ".", "_", "-", single "/", no "." or ".." parts); a unit cannot name it as it is`);
    const name = credentialName(path);
    if (out.has(name) && out.get(name) !== path) throw new InstallError(`${out.get(name)} and ${path} would be handed over under one name; rename one`);
    out.set(name, path);
  }
  return [...out].map(([name, path]) => ({ name, path }));
}

/** A token as it may be written: printable ASCII without spaces (JWTs, base64url, hex), one line. */
export function checkToken(token: string): void {
  if (/[\r\n]/.test(token)) throw new InstallError('the token on standard input has more than one line');
  if (!/^[\x21-\x7e]+$/.test(token)) throw new InstallError('the token on standard input has characters a token does not (spaces, control characters, or non-ASCII); paste it again');
}

export async function install(o: InstallOptions, io: ServiceIo): Promise<void> {
  const say = (line: string) => io.out(o.dryRun ? `would ${line}` : line);
  if (o.systemdVersion === null && o.variant === undefined) throw new InstallError('the target\'s systemd version is not known: pass --systemd-version N (systemctl --version on the target) or --unit-variant');
  const variant = (o.variant ?? variantFor(o.systemdVersion ?? 239)) as UnitVariant;
  if (variant !== 'credentials' && variant !== 'files') throw new InstallError(`--unit-variant must be credentials or files, not ${variant}`);
  if (variant === 'credentials' && o.systemdVersion !== null && o.systemdVersion < CREDENTIALS_SINCE) {
    throw new InstallError(`systemd ${o.systemdVersion} has no LoadCredential= (it came in ${CREDENTIALS_SINCE}): use --unit-variant files`);
  }
  const config = plannedConfig(readJson(at(o.root, PATHS.config)), o.overrides);
  const cloud = config.cloud as JsonObject;

  // The token: read unless this is a dry run; refused when the configuration has no use for it.
  // The token is read when install writes it: the configuration takes it from /etc/nbwss-bridge/token
  // and there is none yet (a reinstall keeps the one there; rotate-token replaces it).
  const managesToken = cloud.tokenFile === PATHS.token;
  const hasToken = existsSync(at(o.root, PATHS.token));
  const token = o.dryRun || !managesToken || hasToken ? '' : (await io.readToken(true)).replace(/\r?\n$/, '');
  if (token !== '') checkToken(token);
  if (managesToken && !hasToken && token === '' && !o.dryRun) {
    throw new InstallError('no endpoint token on standard input: pipe it in (nbwss-bridge service install ... < token-file), or type it when asked');
  }
  if (managesToken && hasToken && !o.dryRun) io.out(`kept the token in ${PATHS.token} (nbwss-bridge service rotate-token replaces it)`);
  const ca = await confirmedCa(config, o, io);

  if (o.dryRun) {
    say(`write ${PATHS.dir} (0750, root:${SERVICE_USER}) and ${PATHS.state} (0700, ${SERVICE_USER})`);
    if (managesToken && !hasToken) say(`write the endpoint token read from standard input to ${PATHS.token} (0600, ${variant === 'files' ? SERVICE_USER : 'root; handed over by systemd'})`);
    say(`write ${PATHS.config} (0640, root:${SERVICE_USER}):`);
    io.out(JSON.stringify(redactValue(config, true), null, 2));
    say(`write ${PATHS.unit} (variant ${variant}), check the configuration, then systemctl daemon-reload, enable and restart nbwss-bridge`);
    return;
  }

  // Checked before anything is written: a refused configuration leaves the installed one as it was.
  const staged = new Map<string, string>([[PATHS.config, `${JSON.stringify(config, null, 2)}\n`]]);
  if (token !== '') staged.set(PATHS.token, `${token}\n`);
  if (ca) staged.set(PATHS.ca, ca.pem);
  let checked: { config: Config; pathOf(read: string): string };
  try {
    checked = checkPlanned(config, o.root, staged);
  } catch (err) {
    if (err instanceof ConfigError) throw new InstallError(`the configuration does not pass check-config, so nothing was written:\n  ${err.problems.join('\n  ')}`);
    throw err;
  }
  io.out('check-config: the configuration is valid');
  const unit = renderUnit({ variant, exec: o.exec, credentials: variant === 'credentials' ? credentialsOf(checked.config, checked.pathOf) : [] });

  if (o.root === '/' && userIds('/', SERVICE_USER) === null) {
    say(`create the system user ${SERVICE_USER}`);
    const r = await io.exec('useradd', ['--system', '--user-group', '--home-dir', PATHS.state, '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
    if (r.code !== 0) throw new InstallError(`useradd failed: ${r.stderr.trim().slice(0, 200)}`);
  }
  const ids: Ids | null = userIds(o.root, SERVICE_USER);
  if (ids === null) {
    if (variant === 'files') throw new InstallError(`${at(o.root, '/etc/passwd')} has no user ${SERVICE_USER}, who must own the secret files under systemd before 247; create it (useradd --system --user-group ${SERVICE_USER}) and run this again`);
    io.out(`note: ${at(o.root, '/etc/passwd')} has no user ${SERVICE_USER}; files keep root as owner`);
  }
  const group: Ids | null = ids && { uid: 0, gid: ids.gid };
  const secretOwner = variant === 'files' ? ids : null;
  // Every target checked before the first write: a symlink anywhere (a masked unit among them) stops it all.
  for (const target of [PATHS.dir, PATHS.state, PATHS.token, PATHS.ca, PATHS.config, PATHS.unit]) {
    try {
      checkPath(at(o.root, target));
    } catch (err) {
      if (target === PATHS.unit && err instanceof InstallError) throw new InstallError(`${PATHS.unit} is a symbolic link (is the unit masked? systemctl unmask nbwss-bridge); nothing was written`);
      throw err;
    }
  }

  say(`write ${PATHS.dir} (0750, root:${SERVICE_USER}) and ${PATHS.state} (0700, ${SERVICE_USER})`);
  makeDir(at(o.root, PATHS.dir), 0o750, group);
  makeDir(at(o.root, PATHS.state), 0o700, ids);
  if (token !== '') {
    say(`write the endpoint token to ${PATHS.token} (0600, ${variant === 'files' ? SERVICE_USER : 'root; handed over by systemd'})`);
    writeFileAs(at(o.root, PATHS.token), `${token}\n`, 0o600, secretOwner);
  }
  if (ca) {
    say(`write the REST API's CA to ${PATHS.ca} (0644)`);
    writeFileAs(at(o.root, PATHS.ca), ca.pem, 0o644, null);
  }
  say(`write ${PATHS.config} (0640, root:${SERVICE_USER})`);
  writeFileAs(at(o.root, PATHS.config), staged.get(PATHS.config) as string, 0o640, group);
  // Under 239 the service reads its secret files itself: those in /etc/nbwss-bridge become its
  // own; any elsewhere are named, not taken over (doctor checks who owns them).
  for (const f of secretFiles(checked.config, {})) {
    const path = checked.pathOf(f.path);
    if (!secretOwner || path === PATHS.token) continue;
    if (path.startsWith(`${PATHS.dir}/`)) ownSecret(at(o.root, path), secretOwner);
    else io.out(`note: ${f.key} is ${path}: the service reads it as ${SERVICE_USER}, so that user must own it (chown ${SERVICE_USER} ${path}; chmod 600 ${path})`);
  }
  say(`write ${PATHS.unit} (variant ${variant}${o.systemdVersion ? ` for systemd ${o.systemdVersion}` : ''})`);
  writeFileAs(at(o.root, PATHS.unit), unit, 0o644, null);
  if (o.root !== '/') return;
  for (const args of [['daemon-reload'], ['enable', 'nbwss-bridge.service'], ['restart', 'nbwss-bridge.service']]) {
    say(`run systemctl ${args.join(' ')}`);
    const r = await io.exec('systemctl', args);
    if (r.code !== 0) throw new InstallError(`systemctl ${args.join(' ')} failed: ${r.stderr.trim().slice(0, 300)}; see journalctl -u nbwss-bridge`);
  }
}
