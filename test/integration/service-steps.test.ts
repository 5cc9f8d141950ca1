// service install, rotate-token and uninstall in-process, with the operator's answers and the
// REST API's CA given by the test: every branch of the plan, under a scratch root.
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { credentialName } from '../../src/config/files.js';
import { checkSecrets, checkStateDir } from '../../src/doctor/local.js';
import { caFromAnswer, normalizeFingerprint, type FetchedCa } from '../../src/service/ca.js';
import { mapPaths, setKey, withFlags } from '../../src/service/config-file.js';
import { redactValue } from '../../src/config/redact.js';
import { install, InstallError, plannedConfig, type InstallOptions, type ServiceIo } from '../../src/service/install.js';
import { rotateToken, uninstall } from '../../src/service/manage.js';
import { checkRoot, ownSecret, writeFileAs } from '../../src/service/system.js';
import { TEST_CA } from '../support/tls.js';

const CA: FetchedCa = caFromAnswer(JSON.stringify({ webRootCert: TEST_CA }));

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-steps-'));
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc/passwd'), `nbwss-bridge:x:${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}::/var/lib/nbwss-bridge:/usr/sbin/nologin\n`);
  return dir;
}

function io(opts: { token?: string; answer?: string | null; ca?: FetchedCa | Error } = {}) {
  const lines: string[] = [];
  const exec: string[] = [];
  const sio: ServiceIo = {
    out: (l) => void lines.push(l),
    readToken: async () => opts.token ?? 'tok-value\n',
    ask: async () => (opts.answer === undefined ? null : opts.answer),
    exec: async (cmd, args) => (exec.push([cmd, ...args].join(' ')), { code: 0, stdout: '', stderr: '' }),
    fetchCa: async () => {
      if (opts.ca instanceof Error) throw opts.ca;
      return opts.ca ?? CA;
    },
  };
  return { sio, lines, exec };
}

const base = (root: string, more: Partial<InstallOptions> = {}): InstallOptions => ({
  root, dryRun: false, overrides: { 'cloud.url': 'wss://cloud.example.net/x', 'rest.baseUrl': 'https://nbu.example:1556' }, systemdVersion: 252, exec: [process.execPath], ...more,
});

describe('service install, step by step', () => {
  it('trusts the CA once the operator says yes at the terminal, and not when they say no', async () => {
    const root = scratch();
    await install(base(root), io({ answer: 'yes' }).sio);
    expect(readFileSync(join(root, 'etc/nbwss-bridge/netbackup-ca.pem'), 'utf8')).toBe(CA.pem);
    const other = scratch();
    await expect(install(base(other), io({ answer: 'n' }).sio)).rejects.toThrow('the CA was not confirmed; nothing was written');
    expect(existsSync(join(other, 'etc/nbwss-bridge'))).toBe(false);
  });

  it('accepts the fingerprint in any usual spelling', async () => {
    for (const spelling of [CA.fingerprint, CA.fingerprint.toLowerCase(), `sha256:${CA.fingerprint.replace(/:/g, '')}`, CA.fingerprint.replace(/:/g, ' ')]) {
      expect(normalizeFingerprint(spelling)).toBe(CA.fingerprint);
    }
    await install(base(scratch(), { caFingerprint: CA.fingerprint.replace(/:/g, '').toLowerCase() }), io().sio);
  });

  it('says how to give the CA when it cannot be fetched, and keeps one already installed', async () => {
    const root = scratch();
    await expect(install(base(root), io({ ca: new Error('cannot fetch https://nbu.example:1556/netbackup/security/cacert: ECONNREFUSED') }).sio)).rejects.toThrow(/ECONNREFUSED; save it as PEM and pass --rest-ca-file FILE/);
    await install(base(root, { caFingerprint: CA.fingerprint }), io().sio);
    // Installed once: a second install keeps it even when the REST API is down.
    await install(base(root), io({ ca: new Error('down') }).sio);
    expect(JSON.parse(readFileSync(join(root, 'etc/nbwss-bridge/config.json'), 'utf8')).rest.caFile).toBe('/etc/nbwss-bridge/netbackup-ca.pem');
  });

  it('needs no CA for plain http or one named by flag, and keeps a token already there when none is piped in', async () => {
    const root = scratch();
    const plain = { 'cloud.url': 'wss://cloud.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1556' };
    await install(base(root, { overrides: plain }), io().sio);
    const again = io({ token: 'never-read' });
    await install(base(root, { overrides: plain }), again.sio);
    expect(readFileSync(join(root, 'etc/nbwss-bridge/token'), 'utf8')).toBe('tok-value\n');
    expect(again.lines).toContain('kept the token in /etc/nbwss-bridge/token (nbwss-bridge service rotate-token replaces it)');
    await expect(install(base(scratch(), { overrides: plain }), io({ token: 'two\nlines' }).sio)).rejects.toThrow('more than one line');
    await expect(install(base(scratch(), { overrides: plain }), io({ token: 'has space' }).sio)).rejects.toThrow(/characters a token does not/);
  });

  it('refuses a variant systemd does not have and an unknown variant; names two secret files of one name apart', async () => {
    await expect(install(base(scratch(), { systemdVersion: 239, variant: 'credentials' }), io().sio)).rejects.toThrow(/systemd 239 has no LoadCredential=.*--unit-variant files/);
    await expect(install(base(scratch(), { variant: 'dynamic' }), io().sio)).rejects.toThrow('--unit-variant must be credentials or files, not dynamic');
    const root = scratch();
    mkdirSync(join(root, 'etc/nbwss-bridge'), { recursive: true });
    mkdirSync(join(root, 'srv'), { recursive: true });
    writeFileSync(join(root, 'srv/token'), 'api-key-here\n', { mode: 0o600 });
    writeFileSync(join(root, 'etc/nbwss-bridge/config.json'), JSON.stringify({ notifications: { jobs: true, apiKeyFile: '/srv/token' } }));
    const r = install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' } }), io().sio);
    await expect(r).resolves.toBeUndefined();
    // Two files of one name are two credentials: each is named after its whole path.
    expect(readFileSync(join(root, 'etc/systemd/system/nbwss-bridge.service'), 'utf8').match(/^LoadCredential=.*$/gm)).toEqual(['LoadCredential=etc_nbwss-bridge_token.83d854cb:/etc/nbwss-bridge/token', 'LoadCredential=srv_token.3037704e:/srv/token']);
  });

  it('stops on a configuration check-config refuses, naming each problem, and leaves what was installed', async () => {
    const root = scratch();
    await install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' } }), io({ token: 'first-token' }).sio);
    const before = readFileSync(join(root, 'etc/nbwss-bridge/config.json'), 'utf8');
    await expect(install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1/netbackup' } }), io({ token: 'second-token' }).sio)).rejects.toThrow(/does not pass check-config, so nothing was written:\n {2}rest\.baseUrl: must be the REST API's origin without a path/);
    // Refused before anything was written: the installed configuration and token are as they were.
    expect(readFileSync(join(root, 'etc/nbwss-bridge/config.json'), 'utf8')).toBe(before);
    expect(readFileSync(join(root, 'etc/nbwss-bridge/token'), 'utf8')).toBe('first-token\n');
  });

  it('prints the configuration it would write on a dry run, without reading the token', async () => {
    const { sio, lines } = io({ token: 'must-not-be-read' });
    await install(base(scratch(), { dryRun: true, systemdVersion: null, variant: 'files' }), sio);
    expect(lines.join('\n')).toMatch(/"url": "wss:\/\/cloud\.example\.net\/x"/);
    expect(lines.join('\n')).not.toContain('must-not-be-read');
  });
});

describe('the configuration install writes', () => {
  it('keeps what is there, sets the flags typed as the schema says, and takes over the paths it manages', () => {
    const c = plannedConfig({ cloud: { url: 'wss://old.example.net/x', tokenFile: '${CREDENTIALS_DIRECTORY}/token' }, state: { dir: '${STATE_DIRECTORY}' }, queue: { concurrency: 2 } }, {
      'queue.maxPending': '50', 'connection.failBack': 'true', 'rest.allowedPaths': '/netbackup/, /other/', 'cloud.url': 'wss://new.example.net/x',
    });
    expect(c).toEqual({
      cloud: { url: 'wss://new.example.net/x', tokenFile: '/etc/nbwss-bridge/token' },
      state: { dir: '/var/lib/nbwss-bridge' },
      queue: { concurrency: 2, maxPending: 50 },
      connection: { failBack: true },
      rest: { allowedPaths: ['/netbackup/', '/other/'] },
    });
    expect(plannedConfig({ cloud: { endpointsFile: '/etc/nbwss-bridge/endpoints.json' } }, {}).cloud).toEqual({ endpointsFile: '/etc/nbwss-bridge/endpoints.json' });
    expect(() => plannedConfig({ cloud: { url: 'wss://cloud.example.com/nbwss/endpoint' } }, {})).toThrow(InstallError);
    expect(() => plannedConfig(null, {})).toThrow(/no cloud endpoint: pass --cloud-url/);
  });

  it('moves every path it names under another root for the check', () => {
    const c = mapPaths({ cloud: { tokenFile: '/etc/t', endpoints: [{ tokenFile: '/etc/e' }] }, rest: { caFile: '/etc/ca' }, backends: [{ caFile: '/b/ca', auth: { passwordFile: '/b/pw', username: 'u' } }], state: { dir: 'relative' } }, (p) => join('/r', p));
    expect(c).toEqual({ cloud: { tokenFile: '/r/etc/t', endpoints: [{ tokenFile: '/r/etc/e' }] }, rest: { caFile: '/r/etc/ca' }, backends: [{ caFile: '/r/b/ca', auth: { passwordFile: '/r/b/pw', username: 'u' } }], state: { dir: 'relative' } });
    const o: Record<string, unknown> = { a: 'x' };
    setKey(o, 'a.b', 1);
    expect(o).toEqual({ a: { b: 1 } });
    expect(withFlags({}, { 'queue.concurrency': 'many' })).toEqual({ queue: { concurrency: 'many' } });
  });

  it('reads NetBackup\'s answer: webRootCert, else a PEM in cacert; anything else is refused', () => {
    expect(caFromAnswer(JSON.stringify({ cacert: ['junk', TEST_CA] })).fingerprint).toBe(new X509Certificate(TEST_CA).fingerprint256);
    expect(() => caFromAnswer('<html>')).toThrow('did not answer JSON');
    expect(() => caFromAnswer('{"webRootCert":"nope"}')).toThrow('without a PEM certificate');
  });
});

describe('rotate-token and uninstall, step by step', () => {
  it('rotates the file a configuration written for systemd credentials names, and refuses what it cannot rotate', async () => {
    const root = scratch();
    await expect(rotateToken({ root, dryRun: false }, io().sio)).rejects.toThrow(/does not exist: run nbwss-bridge service install first/);
    mkdirSync(join(root, 'etc/nbwss-bridge'), { recursive: true });
    writeFileSync(join(root, 'etc/nbwss-bridge/config.json'), JSON.stringify({ cloud: { endpointsFile: '/x' } }));
    await expect(rotateToken({ root, dryRun: false }, io().sio)).rejects.toThrow(/names no cloud\.tokenFile/);
    writeFileSync(join(root, 'etc/nbwss-bridge/config.json'), JSON.stringify({ cloud: { tokenFile: '${CREDENTIALS_DIRECTORY}/token' } }));
    await expect(rotateToken({ root, dryRun: false }, io({ token: '' }).sio)).rejects.toThrow(/no token on standard input/);
    await expect(rotateToken({ root, dryRun: false }, io({ token: 'a\nb' }).sio)).rejects.toThrow(/more than one line/);
    const { sio, lines } = io({ token: 'rotated\n' });
    await rotateToken({ root, dryRun: false }, sio);
    expect(readFileSync(join(root, 'etc/nbwss-bridge/token'), 'utf8')).toBe('rotated\n');
    expect(lines.join('\n')).toContain('then: systemctl reload nbwss-bridge.service');
    const dry = io({ token: 'never' });
    await rotateToken({ root, dryRun: true }, dry.sio);
    expect(readFileSync(join(root, 'etc/nbwss-bridge/token'), 'utf8')).toBe('rotated\n');
    expect(dry.lines[0]).toMatch(/^would write the new token/);
  });

  it('uninstall --dry-run changes nothing', async () => {
    const root = scratch();
    await install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' } }), io().sio);
    const { sio, lines } = io();
    await uninstall({ root, dryRun: true, purge: true }, sio);
    expect(lines).toEqual(['would remove /etc/systemd/system/nbwss-bridge.service', 'would remove /etc/nbwss-bridge', 'would remove /var/lib/nbwss-bridge', expect.stringMatching(/system user nbwss-bridge is kept/)]);
    expect(existsSync(join(root, 'etc/systemd/system/nbwss-bridge.service'))).toBe(true);
  });
});

describe('doctor on the files', () => {
  it('fails a secret file that is gone, warns a missing default state dir, fails another', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-docfiles-'));
    writeFileSync(join(dir, 'token'), 'tok\n', { mode: 0o600 });
    const { config } = loadConfig({ env: { NBWSS_CLOUD_URL: 'wss://c.example.net/x', NBWSS_CLOUD_TOKEN_FILE: join(dir, 'token') }, purpose: 'run' });
    expect(checkSecrets(config, {})[0]).toMatchObject({ status: 'ok', summary: 'cloud.tokenFile: readable, mode 600' });
    rmSync(join(dir, 'token'));
    expect(checkSecrets(config, {})[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/cannot read .*: ENOENT/) });
    expect(checkStateDir(config)).toMatchObject({ status: 'warn', summary: expect.stringMatching(/memory only/) });
    expect(checkStateDir({ ...config, state: { dir: '/var/lib/nbwss-bridge' } } as never)).toMatchObject({ status: process.getuid?.() === 0 && existsSync('/var/lib/nbwss-bridge') ? 'ok' : 'warn' });
    expect(checkStateDir({ ...config, state: { dir: join(dir, 'absent') } } as never)).toMatchObject({ status: 'fail', fix: expect.stringMatching(/install -d -m 0700 -o nbwss-bridge/) });
  });
});

describe('what service install refuses to trust or to write through', () => {
  it('trusts exactly one CA certificate: a bundle, or a certificate that is no CA, is refused', () => {
    const server = readFileSync(new URL('../support/tls/server.pem', import.meta.url), 'utf8');
    expect(() => caFromAnswer(JSON.stringify({ webRootCert: `${TEST_CA}\n${TEST_CA}` }))).toThrow('answered 2 certificates where NetBackup sends one CA');
    expect(() => caFromAnswer(JSON.stringify({ webRootCert: server }))).toThrow('not a CA');
    expect(() => caFromAnswer(JSON.stringify({ webRootCert: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----' }))).toThrow('cannot be read');
    // What is written is the certificate itself, re-encoded: nothing that came around it.
    expect(caFromAnswer(JSON.stringify({ webRootCert: `junk before\n${TEST_CA}\njunk after` })).pem).toBe(new X509Certificate(TEST_CA).toString());
    expect(normalizeFingerprint('AA:BB')).toBeNull();
    expect(normalizeFingerprint(`${'0'.repeat(63)}G`)).toBeNull();
  });

  it('never writes through a symlink, and refuses a --root others can write', async () => {
    const root = scratch();
    const victim = mkdtempSync(join(tmpdir(), 'nbwss-victim-'));
    mkdirSync(join(root, 'var/lib'), { recursive: true });
    symlinkSync(victim, join(root, 'var/lib/nbwss-bridge'));
    await expect(install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' } }), io().sio)).rejects.toThrow(/var\/lib\/nbwss-bridge is a symbolic link; refusing to write through it/);
    const open = mkdtempSync(join(tmpdir(), 'nbwss-open-'));
    chmodSync(open, 0o777);
    expect(() => checkRoot(open, process.getuid?.() ?? 0)).toThrow(/can be written by its group or others \(mode 777\)/);
    expect(() => checkRoot(join(open, 'absent'), 0)).toThrow();
    expect(() => checkRoot('/', 12345)).not.toThrow();
  });

  it('refuses a masked unit before writing anything, and uninstall removes the mask link itself', async () => {
    const root = scratch();
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    symlinkSync('/dev/null', join(root, 'etc/systemd/system/nbwss-bridge.service'));
    const plain = { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' };
    await expect(install(base(root, { overrides: plain }), io().sio)).rejects.toThrow(/is the unit masked\? systemctl unmask nbwss-bridge\); nothing was written/);
    expect(existsSync(join(root, 'etc/nbwss-bridge'))).toBe(false);
    await uninstall({ root, dryRun: false, purge: false }, io().sio);
    expect(existsSync('/dev/null')).toBe(true);
    expect(() => lstatSync(join(root, 'etc/systemd/system/nbwss-bridge.service'))).toThrow();
  });

  it('refuses to write below a directory another user could change', async () => {
    const root = scratch();
    const open = join(root, 'etc');
    chmodSync(open, 0o777);
    await expect(install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' } }), io().sio)).rejects.toThrow(/etc can be changed by another user \(owner uid \d+, mode 777\)/);
  });

  it('writes each file with its own mode whatever the umask', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-umask-'));
    const script = `process.umask(0o077); const s = await import(${JSON.stringify(new URL('../../dist/service/system.js', import.meta.url).href)}); s.writeFileAs(${JSON.stringify(join(dir, 'ca.pem'))}, 'x', 0o644, null); s.makeDir(${JSON.stringify(join(dir, 'a/b/c'))}, 0o750, null);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script]);
    expect((statSync(join(dir, 'ca.pem')).mode & 0o777).toString(8)).toBe('644');
    expect((statSync(join(dir, 'a/b/c')).mode & 0o777).toString(8)).toBe('750');
    // Parents made on the way get 0755 whatever the umask, never the leaf's mode.
    expect((statSync(join(dir, 'a')).mode & 0o777).toString(8)).toBe('755');
  });
});

describe('doctor on systemd', () => {
  it('names the unit in force and what it needs of systemd, in a scratch root', async () => {
    const { checkSystemd } = await import('../../src/doctor/local.js');
    const { systemdVersion } = await import('../../src/service/system.js');
    const version = await systemdVersion();
    const root = scratch();
    const none = await checkSystemd(root);
    if (version === null) {
      expect(none[0]).toMatchObject({ status: 'skip' });
      return;
    }
    expect(none[0]).toMatchObject({ status: 'warn', summary: `systemd ${version}; no nbwss-bridge unit installed`, fix: 'nbwss-bridge service install' });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    const { renderUnit } = await import('../../src/service/unit.js');
    writeFileSync(join(root, 'etc/systemd/system/nbwss-bridge.service'), renderUnit({ variant: 'files', exec: ['/usr/bin/nbwss-bridge'], credentials: [] }));
    const files = await checkSystemd(root);
    expect(files[0]).toMatchObject({ status: 'ok', summary: expect.stringMatching(/fits it \(secrets read by the service user\)$/) });
    expect(files[1]).toMatchObject({ check: 'systemd', summary: expect.stringMatching(/^nbwss-bridge\.service is /) });
    writeFileSync(join(root, 'etc/systemd/system/nbwss-bridge.service'), '[Service]\nLoadCredential=x:/y\nProtectClock=yes\n');
    const needs = await checkSystemd(root);
    expect(needs[0]?.status).toBe(version >= 247 ? 'ok' : 'fail');
  });
});

describe('doctor on secret owners', () => {
  it('fails a secret file the service user cannot own-read where the unit has it read its own files, and not where systemd hands it over', async () => {
    const { checkSecrets, secretReader } = await import('../../src/doctor/local.js');
    const root = scratch();
    await install(base(root, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' }, systemdVersion: 239 }), io().sio);
    const reader = secretReader(root);
    expect(reader).toEqual({ uid: process.getuid?.() ?? 0, name: 'nbwss-bridge', credentials: null });
    const tokenFile = join(root, 'etc/nbwss-bridge/token');
    const { config } = loadConfig({ env: { NBWSS_CLOUD_URL: 'wss://c.example.net/x', NBWSS_CLOUD_TOKEN_FILE: tokenFile }, purpose: 'run' });
    expect(checkSecrets(config, {}, reader)[0]).toMatchObject({ status: 'ok' });
    expect(checkSecrets(config, {}, { uid: 4242, name: 'nbwss-bridge', credentials: null })[0]).toMatchObject({ status: 'fail', fix: `chown nbwss-bridge ${tokenFile} && chmod 600 ${tokenFile}` });
    const creds = scratch();
    await install(base(creds, { overrides: { 'cloud.url': 'wss://c.example.net/x', 'rest.baseUrl': 'http://127.0.0.1:1' }, systemdVersion: 252 }), io().sio);
    const systemd = secretReader(creds);
    expect(systemd).toMatchObject({ uid: 0, name: 'root (systemd)' });
    expect([...(systemd?.credentials ?? [])]).toEqual(['etc_nbwss-bridge_token.83d854cb']);
    const credToken = join(creds, 'etc/nbwss-bridge/token');
    const credConfig = loadConfig({ env: { NBWSS_CLOUD_URL: 'wss://c.example.net/x', NBWSS_CLOUD_TOKEN_FILE: credToken }, purpose: 'run' }).config;
    // Read under its own path here (a scratch root), so not one the unit hands over.
    expect(checkSecrets(credConfig, {}, systemd)[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/does not hand .* over as a credential/) });
    expect(checkSecrets(credConfig, {}, { uid: 0, name: 'root (systemd)', credentials: new Set([credentialName(credToken)]) })[0]).toMatchObject({ status: 'ok' });
    expect(secretReader(scratch())).toBeNull();
  });
});

describe('the rest of the plan', () => {
  it('prints a configuration with secrets and URL credentials redacted', () => {
    expect(redactValue({ cloud: { token: 'tok', tokenFile: '/etc/t', proxy: 'http://u:pw@proxy:3128', url: 'wss://c/x' }, backends: [{ auth: { password: 'p', passwordFile: '/p' } }], queue: { concurrency: 3 } }, true)).toEqual({
      cloud: { token: '[redacted]', tokenFile: '/etc/t', proxy: 'http://***@proxy:3128/', url: 'wss://c/x' },
      backends: [{ auth: { password: '[redacted]', passwordFile: '/p' } }],
      queue: { concurrency: 3 },
    });
    // In problem lines, file keys are replaced like every secret key.
    expect(redactValue({ cloud: { tokenFile: '/etc/t' } })).toEqual({ cloud: { tokenFile: '[redacted]' } });
  });

  it('plans a real install and uninstall on this host as a dry run, running nothing', async () => {
    const i = io();
    await install(base('/', { dryRun: true, variant: 'files', overrides: { 'cloud.url': 'wss://c.example.net/x', 'cloud.proxy': 'http://u:secret-pw@proxy:3128' } }), i.sio);
    expect(i.exec).toEqual([]);
    expect(i.lines.join('\n')).toContain('"proxy": "http://***@proxy:3128/"');
    expect(i.lines.join('\n')).not.toContain('secret-pw');
    const u = io();
    await uninstall({ root: '/', dryRun: true, purge: true }, u.sio);
    expect(u.exec).toEqual([]);
    expect(u.lines.slice(0, 3)).toEqual(['would run systemctl disable --now nbwss-bridge.service', 'would remove /etc/systemd/system/nbwss-bridge.service', 'would run systemctl daemon-reload']);
  });

  it('refuses a hard-linked secret, a --root that is a file or another user\'s, and a directory another user owns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-links-'));
    writeFileSync(join(dir, 'secret'), 'x', { mode: 0o600 });
    linkSync(join(dir, 'secret'), join(dir, 'alias'));
    expect(() => ownSecret(join(dir, 'secret'), { uid: 0, gid: 0 })).toThrow('has other hard links');
    expect(() => checkRoot(join(dir, 'secret'), 0)).toThrow('is not a directory');
    if ((process.getuid?.() ?? 0) !== 0) return; // the rest needs to give a directory away
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, 12345, 12345);
    expect(() => checkRoot(theirs, 0)).toThrow('belongs to uid 12345');
    expect(() => writeFileAs(join(theirs, 'f'), 'x', 0o600, null)).toThrow(/theirs can be changed by another user \(owner uid 12345/);
  });
});
