// `service install | rotate-token | uninstall` into a scratch filesystem root (--root): the files,
// their modes, the configuration check, the unit for each systemd, and what systemd thinks of it.
import { spawn, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPlanned } from '../../src/service/config-file.js';
import { childEnv } from '../support/cli-env.js';
import { httpsServer, TEST_CA, TEST_CA2_FILE, type TestCert } from '../support/tls.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'nbwss-bridge');
const FINGERPRINT = new X509Certificate(TEST_CA).fingerprint256;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: childEnv({ PATH: process.env.PATH ?? '' }), stdio: 'pipe' });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdin.end(stdin);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** A NetBackup stand-in on HTTPS answering GET /netbackup/security/cacert as NetBackup does. */
async function netbackup(cert: TestCert = 'server', ca = TEST_CA): Promise<string> {
  const server = httpsServer((req, res) => {
    res.writeHead(req.url === '/netbackup/security/cacert' ? 200 : 404, { 'content-type': 'application/vnd.netbackup+json;version=2.0' });
    res.end(JSON.stringify({ webRootCert: ca, cacert: ['not-a-pem'] }));
  }, cert);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => void server.close());
  return `https://localhost:${(server.address() as AddressInfo).port}`;
}

/** A scratch root whose /etc/passwd has the service user (as this process's ids, so chown works). */
function scratchRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-root-'));
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc/passwd'), `root:x:0:0::/root:/bin/sh\nnbwss-bridge:x:${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}::/var/lib/nbwss-bridge:/usr/sbin/nologin\n`);
  return dir;
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const hasAnalyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function analyze(args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('systemd-analyze', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function install(version: number, extra: string[] = [], token = 'the-endpoint-token\n') {
  const dir = scratchRoot();
  const base = await netbackup();
  const r = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/nbwss/endpoint', '--rest-base-url', base,
    '--ca-fingerprint', FINGERPRINT.toLowerCase().replace(/:/g, ''), '--systemd-version', String(version), ...extra], token);
  return { dir, base, r, at: (p: string) => join(dir, p) };
}

describe('service install --root', () => {
  it.each([[239, 'files'], [252, 'credentials']] as const)('systemd %i: writes the %s variant, the token (0600), the confirmed CA and a configuration check-config accepts', async (version, variant) => {
    const { r, at } = await install(version);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`SHA-256 fingerprint ${FINGERPRINT}`);
    expect(r.stdout).toContain('check-config: the configuration is valid');
    expect(r.stdout).not.toContain('the-endpoint-token');
    expect(readFileSync(at('etc/nbwss-bridge/token'), 'utf8')).toBe('the-endpoint-token\n');
    expect(mode(at('etc/nbwss-bridge/token'))).toBe('600');
    expect(mode(at('etc/nbwss-bridge/config.json'))).toBe('640');
    expect(mode(at('etc/nbwss-bridge'))).toBe('750');
    expect(mode(at('var/lib/nbwss-bridge'))).toBe('700');
    expect(readFileSync(at('etc/nbwss-bridge/netbackup-ca.pem'), 'utf8')).toBe(TEST_CA.endsWith('\n') ? TEST_CA : `${TEST_CA}\n`);
    const config = JSON.parse(readFileSync(at('etc/nbwss-bridge/config.json'), 'utf8'));
    expect(config).toMatchObject({ cloud: { url: 'wss://cloud.example.net/nbwss/endpoint', tokenFile: '/etc/nbwss-bridge/token' }, rest: { caFile: '/etc/nbwss-bridge/netbackup-ca.pem' }, state: { dir: '/var/lib/nbwss-bridge' } });
    expect(checkPlanned(config, at('')).config.cloud.token).toBe('the-endpoint-token');
    const unit = readFileSync(at('etc/systemd/system/nbwss-bridge.service'), 'utf8');
    expect(unit).toContain(`(variant: ${variant}`);
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(unit).toMatch(/^User=nbwss-bridge$/m);
    if (variant === 'credentials') {
      expect(unit).toMatch(/^LoadCredential=etc_nbwss-bridge_token.83d854cb:\/etc\/nbwss-bridge\/token$/m);
      expect(unit).toMatch(/^Type=exec$/m);
    } else {
      expect(unit).not.toMatch(/^(LoadCredential|ProtectClock|ProtectProc|ProcSubset|ProtectKernelLogs|ProtectHostname|RestrictSUIDSGID)=/m);
      expect(unit).toMatch(/^Type=simple$/m);
    }
  });

  it.skipIf(!hasAnalyze)('writes units systemd-analyze verify passes, rated 1.5 or lower where the directives exist (the 239 variant 2.0 or lower)', async () => {
    for (const [version, limit] of [[252, 1.5], [239, 2.0]] as const) {
      const { r, at } = await install(version);
      expect(r.code).toBe(0);
      const unit = at('etc/systemd/system/nbwss-bridge.service');
      const verify = analyze(['verify', unit]);
      expect(verify.out.split('\n').filter((l) => l.includes('nbwss-bridge.service') && !/Unknown|unit file .* not found/.test(l)), verify.out).toEqual([]);
      const m = /Overall exposure level for .*: (\d+\.\d+)/.exec(analyze(['security', '--offline=true', unit]).out);
      expect(Number(m?.[1])).toBeLessThanOrEqual(limit);
    }
  });

  it('hands every secret file the configuration names over as a credential, named after the file', async () => {
    const dir = scratchRoot();
    mkdirSync(join(dir, 'etc/nbwss-bridge'), { recursive: true });
    writeFileSync(join(dir, 'etc/nbwss-bridge/apikey'), 'an-api-key-value\n', { mode: 0o600 });
    writeFileSync(join(dir, 'etc/nbwss-bridge/config.json'), JSON.stringify({ notifications: { jobs: true, apiKeyFile: '/etc/nbwss-bridge/apikey' }, rest: { baseUrl: 'http://127.0.0.1:1556' } }));
    const r = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--systemd-version', '252'], 'tok-value\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const unit = readFileSync(join(dir, 'etc/systemd/system/nbwss-bridge.service'), 'utf8');
    expect(unit.match(/^LoadCredential=.*$/gm)).toEqual(['LoadCredential=etc_nbwss-bridge_token.83d854cb:/etc/nbwss-bridge/token', 'LoadCredential=etc_nbwss-bridge_apikey.afcd80ee:/etc/nbwss-bridge/apikey']);
  });

  it('sets rest.servername to the name the REST API\'s certificate holds when it does not name the host dialled', async () => {
    const dir = scratchRoot();
    const ca2 = readFileSync(TEST_CA2_FILE, 'utf8');
    const base = await netbackup('othername', ca2);
    const r = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--rest-base-url', base, '--ca-fingerprint', new X509Certificate(ca2).fingerprint256, '--systemd-version', '252'], 'tok\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("the REST API's certificate names nbu.example, not localhost: rest.servername set to nbu.example");
    expect(JSON.parse(readFileSync(join(dir, 'etc/nbwss-bridge/config.json'), 'utf8')).rest.servername).toBe('nbu.example');
  });

  it('leaves rest.servername alone when the certificate names the host dialled, by name or by address', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const dir = scratchRoot();
      const base = (await netbackup()).replace('localhost', host);
      const r = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--rest-base-url', base, '--ca-fingerprint', FINGERPRINT, '--systemd-version', '252'], 'tok\n');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('rest.servername set');
      expect(JSON.parse(readFileSync(join(dir, 'etc/nbwss-bridge/config.json'), 'utf8')).rest.servername).toBeUndefined();
    }
  });

  it('refuses a CA whose fingerprint is not the one given, and writes nothing', async () => {
    const dir = scratchRoot();
    const base = await netbackup();
    const other = `${'AB:'.repeat(31)}AB`;
    const r = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--rest-base-url', base, '--ca-fingerprint', other, '--systemd-version', '252'], 'tok\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the CA's SHA-256 fingerprint is ${FINGERPRINT}, not the --ca-fingerprint given (${other})`);
    const short = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--rest-base-url', base, '--ca-fingerprint', 'AA:BB', '--systemd-version', '252'], 'tok\n');
    expect(short.stderr).toContain('--ca-fingerprint must be a SHA-256 fingerprint (64 hex digits');
    expect(existsSync(join(dir, 'etc/nbwss-bridge'))).toBe(false);
  });

  it('asks for the fingerprint flag when there is no terminal to confirm on, and for the token when none is piped in', async () => {
    const dir = scratchRoot();
    const base = await netbackup();
    const noFp = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--rest-base-url', base, '--systemd-version', '252'], 'tok\n');
    expect(noFp.code).toBe(2);
    expect(noFp.stderr).toContain(`pass --ca-fingerprint ${FINGERPRINT} once you have checked it`);
    const noToken = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--rest-base-url', 'http://127.0.0.1:1556', '--systemd-version', '252'], '');
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/no endpoint token on standard input/);
    const example = await cli(['service', 'install', '--root', dir, '--systemd-version', '252'], 'tok\n');
    expect(example.stderr).toMatch(/no cloud endpoint: pass --cloud-url/);
    const unknown = await cli(['service', 'install', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x'], 'tok\n');
    expect(unknown.stderr).toMatch(/the target's systemd version is not known: pass --systemd-version N/);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const dir = scratchRoot();
    const r = await cli(['service', 'install', '--dry-run', '--root', dir, '--cloud-url', 'wss://cloud.example.net/x', '--systemd-version', '239'], 'tok\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^would fetch the REST API's CA from https:\/\/localhost:1556\/netbackup\/security\/cacert/m);
    expect(r.stdout).toMatch(/^would write \/etc\/systemd\/system\/nbwss-bridge\.service \(variant files\)/m);
    expect(existsSync(join(dir, 'etc/nbwss-bridge'))).toBe(false);
  });

  it('is refused to a user who is not root, unless it is a dry run or under --root', async () => {
    if ((process.getuid?.() ?? 0) === 0) return; // CI runs as root; the refusal is for everyone else
    const r = await cli(['service', 'install', '--cloud-url', 'wss://cloud.example.net/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/run it as root \(sudo\)/);
  });
});

describe('service rotate-token and uninstall --root', () => {
  it.each([[239, 'reload'], [252, 'restart']] as const)('systemd %i: rotate-token rewrites the token in place, keeping its mode, and names systemctl %s', async (version, action) => {
    const { at } = await install(version);
    const r = await cli(['service', 'rotate-token', '--root', at('')], 'the-new-token\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(at('etc/nbwss-bridge/token'), 'utf8')).toBe('the-new-token\n');
    expect(mode(at('etc/nbwss-bridge/token'))).toBe('600');
    expect(r.stdout).toContain(`then: systemctl ${action} nbwss-bridge.service`);
    expect(r.stdout).not.toContain('the-new-token');
  });

  it('uninstall removes the unit and keeps the configuration and state; --purge removes them too', async () => {
    const { at } = await install(252);
    copyFileSync(at('etc/nbwss-bridge/token'), at('var/lib/nbwss-bridge/journal'));
    expect((await cli(['service', 'uninstall', '--root', at('')])).code).toBe(0);
    expect(existsSync(at('etc/systemd/system/nbwss-bridge.service'))).toBe(false);
    expect(existsSync(at('etc/nbwss-bridge/config.json'))).toBe(true);
    expect(existsSync(at('var/lib/nbwss-bridge/journal'))).toBe(true);
    expect((await cli(['service', 'uninstall', '--purge', '--root', at('')])).code).toBe(0);
    expect(existsSync(at('etc/nbwss-bridge'))).toBe(false);
    expect(existsSync(at('var/lib/nbwss-bridge'))).toBe(false);
  });
});
