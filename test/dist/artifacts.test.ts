// The release artifacts `npm run dist` makes, tried for real: the single executable runs the
// CLI's commands (the bridge between loopback servers included), and the .deb, the .rpm and
// the npm tarball hold, extract and install what they should. Without the artifacts these
// tests are skipped, or fail under CI.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeCloud, RestServer, sendJson } from '../support/fakes.js';
import { LockfileRegistry } from './registry.js';
import { ARTIFACTS, exec, INSTALLED, missingArtifacts, onPath, ROOT, VERSION } from './release.js';

const missing = missingArtifacts();
const skip = missing !== null && !process.env.CI;
if (skip) console.warn(`test/dist skipped: ${missing}`);

const PATH = process.env.PATH ?? '';
/** Scratch space for the whole file, made once the artifacts are known to be there. */
let tmp = '';
const scratch = (name: string) => mkdtempSync(join(tmp, `${name}-`));

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const digests = new Map<string, string>();
const sha256 = (file: string): string => {
  const known = digests.get(file);
  if (known) return known;
  const hex = createHash('sha256').update(readFileSync(file)).digest('hex');
  digests.set(file, hex);
  return hex;
};

/** `--version` of an extracted or installed copy: the product's version and the Node.js it runs on. */
async function expectVersion(bin: string, env: NodeJS.ProcessEnv = { PATH }): Promise<void> {
  const r = await exec(bin, ['--version'], { cwd: tmp, env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(VERSION);
  expect(r.stdout).toMatch(/Node\.js v20\./);
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** The npm tarball's files: the tree the artifacts were made from, which the working tree may have left since. */
const packed = async () => lines((await exec('tar', ['-tzf', ARTIFACTS.tgz])).stdout);
const packedFile = async (path: string) => (await exec('tar', ['-xzOf', ARTIFACTS.tgz, `package/${path}`])).stdout;

describe.skipIf(skip)(skip ? `release artifacts (skipped: ${missing})` : 'release artifacts', () => {
  beforeAll(() => {
    if (missing) throw new Error(missing);
    tmp = mkdtempSync(join(tmpdir(), 'nbwss-dist-test-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('SHA256SUMS names every artifact with its digest', () => {
    const artifacts = [ARTIFACTS.sea, ARTIFACTS.deb, ARTIFACTS.rpm, ARTIFACTS.tgz];
    expect(lines(readFileSync(ARTIFACTS.sums, 'utf8')).sort()).toEqual(artifacts.map((f) => `${sha256(f)}  ${basename(f)}`).sort());
  });

  describe('the single executable', () => {
    const sea = ARTIFACTS.sea;

    it('prints its version and the Node.js it carries, with no experimental warning', async () => {
      expect(statSync(sea).mode & 0o777).toBe(0o755);
      const r = await exec(sea, ['--version'], { cwd: tmp });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(VERSION);
      expect(r.stdout).toMatch(/Node\.js v20\./);
      expect(r.stderr).toBe('');
    });

    it('links only what RHEL 8 has: glibc 2.28 at most and the C++ runtime (GLIBCXX 3.4.25 at most)', async () => {
      if (!(await onPath('objdump'))) return console.log('skipped: objdump is not on the PATH');
      const needed = lines((await exec('objdump', ['-p', sea])).stdout).filter((l) => l.startsWith('NEEDED')).map((l) => l.split(/\s+/)[1]);
      expect(needed.filter((n) => !/^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so/.test(n ?? ''))).toEqual([]);
      const symbols = (await exec('objdump', ['-T', sea])).stdout;
      const newest = (prefix: string) => Math.max(...[...symbols.matchAll(new RegExp(`${prefix}_(\\d+)\\.(\\d+)(?:\\.(\\d+))?`, 'g'))].map((m) => Number(m[1]) * 1e6 + Number(m[2]) * 1e3 + Number(m[3] ?? 0)));
      expect(newest('GLIBC')).toBeGreaterThan(2_000_000);
      expect(newest('GLIBC')).toBeLessThanOrEqual(2_028_000);
      expect(newest('GLIBCXX')).toBeLessThanOrEqual(3_004_025);
    });

    it('runs the demo from the fixtures it carries, in a directory without any', async () => {
      const r = await exec(sea, ['demo'], { cwd: scratch('demo') });
      expect(r.code, r.stderr).toBe(0);
      const fixtures = (await packed()).filter((f) => /^package\/fixtures\/[^/]+\.json$/.test(f)).map((f) => basename(f));
      expect(fixtures.length).toBeGreaterThan(0);
      expect(r.stdout).toContain(`${fixtures.length} requests, each answered once under its own id`);
      for (const f of fixtures) expect(r.stdout).toContain(f);
      expect(r.stdout).toMatch(/NOTIFICATION JOB \d+ DONE/);
    });

    it('checks a configuration file, and refuses a bad value with exit code 2', async () => {
      const dir = scratch('check');
      // The token as systemd hands it over: a credential named after its path.
      writeFileSync(join(dir, 'etc_nbwss-bridge_token.83d854cb'), 'tok\n', { mode: 0o600 });
      const example = join(dir, 'config.json');
      writeFileSync(example, await packedFile('config/config.example.json'));
      const env = { PATH, CREDENTIALS_DIRECTORY: dir, NBWSS_STATE_DIR: join(dir, 'state'), NBWSS_REST_CA_FILE: join(ROOT, 'test', 'support', 'tls', 'ca.pem') };
      const r = await exec(sea, ['check-config', '--config', example], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ configFile: example, cloud: { token: '[redacted]' } });
      const bad = await exec(sea, ['check-config'], { cwd: dir, env: { PATH, NBWSS_CONCURRENCY: 'lots' } });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^nbwss-bridge: configuration error: queue\.concurrency/);
    });

    it('run bridges a COMMAND REQUEST between loopback servers and stops cleanly on SIGTERM', async () => {
      const rest = await new RestServer((_req, res) => sendJson(res, 200, { ok: true })).start();
      const cloud = await new FakeCloud({ token: 'dist-token' }).start();
      cleanups.push(() => rest.stop(), () => cloud.stop());
      const env = { PATH, NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: 'dist-token', NBWSS_REST_BASE_URL: rest.url };
      const child = spawn(sea, ['run'], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
      cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

      const peer = await cloud.readyPeer(0, 60_000);
      const resp = await peer.command('GET', '/netbackup/admin/jobs', { timeoutMs: 30_000 });
      expect(resp.payload.responseCode).toBe(200);
      expect(JSON.parse(resp.payload.body)).toEqual({ ok: true });
      expect(rest.requests.map((r) => `${r.method} ${r.url}`)).toContain('GET /netbackup/admin/jobs');

      child.kill('SIGTERM');
      expect(await exited, err).toBe(0);
      expect(await peer.closed).toBe(1001);
      const msgs = lines(out).map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).toEqual(expect.arrayContaining(['nbwss-bridge starting', 'connected to the cloud; serving commands', 'stopped']));
      expect(out + err).not.toContain('dist-token');
    });
    it('writes human-readable log lines with --log-format pretty (pino-pretty, bundled)', async () => {
      const env = { PATH, NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/x', NBWSS_CLOUD_TOKEN: 'pretty-token' };
      const child = spawn(sea, ['run', '--log-format', 'pretty'], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
      cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
      let out = '';
      let signalled = false;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        // Once: a second signal during shutdown means "exit now, with 1".
        if (!signalled && /nbwss-bridge starting/.test(out)) signalled = child.kill('SIGTERM');
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      expect(out).toMatch(/^\[[\d:.]+\] INFO: nbwss-bridge starting$/m);
      expect(out).not.toContain('pretty-token');
    });
  });

  describe('the .deb', () => {
    it('holds the executable, the unit and the config, listed as a conffile', async () => {
      const list = await exec('dpkg-deb', ['-c', ARTIFACTS.deb]);
      expect(list.code, list.stderr).toBe(0);
      const paths = lines(list.stdout).map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, '').replace(/(.)\/$/, '$1'));
      for (const p of INSTALLED) expect(paths).toContain(p);
      expect(list.stdout).toMatch(/^-rwxr-xr-x root\/root .* \.\/usr\/bin\/nbwss-bridge$/m);

      const fields = await exec('dpkg-deb', ['--showformat', '${Package} ${Version} ${Architecture} | ${Depends}', '--show', ARTIFACTS.deb]);
      expect(fields.stdout).toBe(`nbwss-bridge ${VERSION.replace(/-/g, '~')} amd64 | libc6 (>= 2.28), libstdc++6, libgcc-s1 | libgcc1`);

      const control = scratch('deb-control');
      expect((await exec('dpkg-deb', ['-e', ARTIFACTS.deb, control])).code).toBe(0);
      expect(lines(readFileSync(join(control, 'conffiles'), 'utf8'))).toEqual(['/etc/nbwss-bridge/config.json']);
    });

    it('has POSIX sh maintainer scripts that make the user and directories, and never start the service', async () => {
      const control = scratch('deb-scripts');
      await exec('dpkg-deb', ['-e', ARTIFACTS.deb, control]);
      for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) {
        expect(statSync(join(control, s)).mode & 0o777, s).toBe(0o755);
        const syntax = await exec('sh', ['-n', join(control, s)]);
        expect(syntax.code, `${s}: ${syntax.stderr}`).toBe(0);
      }
      const text = (s: string) => readFileSync(join(control, s), 'utf8');
      for (const s of ['preinst', 'postinst']) {
        expect(text(s)).toMatch(/^set -e$/m);
        expect(text(s)).toMatch(/getent group nbwss-bridge .*\|\| groupadd --system nbwss-bridge/);
        expect(text(s)).toMatch(/getent passwd nbwss-bridge .*\|\| useradd --system .*--shell \/usr\/sbin\/nologin .*nbwss-bridge$/m);
      }
      expect(text('postinst')).toContain('install -d -o nbwss-bridge -g nbwss-bridge -m 0700 /var/lib/nbwss-bridge');
      expect(text('postinst')).toContain('install -d -o root -g nbwss-bridge -m 0750 /etc/nbwss-bridge');
      expect(text('postinst')).toMatch(/if \[ -d \/run\/systemd\/system \]; then systemctl daemon-reload/);
      expect(text('prerm')).toMatch(/remove\)[\s\S]*systemctl disable --now nbwss-bridge\.service[\s\S]*Written by "nbwss-bridge service install"[\s\S]*rm -f \/etc\/systemd\/system\/nbwss-bridge\.service/);
      expect(text('postinst')).toMatch(/if \[ -n "\$2" \]; then[\s\S]*systemctl try-restart nbwss-bridge\.service/);
      expect(text('postrm')).toMatch(/purge\)[\s\S]*rm -rf \/var\/lib\/nbwss-bridge[\s\S]*userdel nbwss-bridge/);
      for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) expect(text(s)).not.toMatch(/systemctl (enable|start|restart)/);
    });

    it('extracts to the single executable, byte for byte, and it runs', async () => {
      const root = scratch('deb-root');
      const x = await exec('dpkg-deb', ['-x', ARTIFACTS.deb, root]);
      expect(x.code, x.stderr).toBe(0);
      expect(sha256(join(root, 'usr/bin/nbwss-bridge'))).toBe(sha256(ARTIFACTS.sea));
      expect(() => JSON.parse(readFileSync(join(root, 'etc/nbwss-bridge/config.json'), 'utf8'))).not.toThrow();
      await expectVersion(join(root, 'usr/bin/nbwss-bridge'));
    });

    it('its executable runs doctor against loopback servers: ok with a cloud that accepts, 1 naming the cause with one that refuses', async () => {
      const root = scratch('deb-doctor');
      expect((await exec('dpkg-deb', ['-x', ARTIFACTS.deb, root])).code).toBe(0);
      const rest = await new RestServer((_req, res) => sendJson(res, 200, {})).start();
      const cloud = await new FakeCloud({ token: 'doctor-token' }).start();
      cleanups.push(() => rest.stop(), () => cloud.stop());
      const env = (token: string) => ({ PATH: process.env.PATH ?? '', NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: token, NBWSS_REST_BASE_URL: rest.url });
      const good = await exec(join(root, 'usr/bin/nbwss-bridge'), ['doctor', '--json'], { env: env('doctor-token') });
      const results = (JSON.parse(good.stdout) as { results: { check: string; status: string }[] }).results;
      expect(results.filter((r) => r.status === 'fail'), good.stdout).toEqual([]);
      expect(results.find((r) => r.check === 'cloud-connect')?.status).toBe('ok');
      expect(good.code).toBe(0);
      const refused = await exec(join(root, 'usr/bin/nbwss-bridge'), ['doctor'], { env: env('not-the-token') });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^fail\s+cloud-connect .*valid:false/m);
    });
  });

  describe('the .rpm', () => {
    const query = async (...args: string[]) => {
      const r = await exec('rpm', ['-qp', ...args, ARTIFACTS.rpm]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };

    it('lists the same files, the state and config directories owned for the service user, and the config as noreplace', async () => {
      const files = lines(await query('--list'));
      for (const p of [...INSTALLED, '/etc/nbwss-bridge', '/var/lib/nbwss-bridge']) expect(files).toContain(p);
      const owned = lines(await query('--queryformat', '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]'));
      expect(owned).toContain('drwx------ nbwss-bridge:nbwss-bridge  /var/lib/nbwss-bridge');
      expect(owned).toContain('drwxr-x--- root:nbwss-bridge  /etc/nbwss-bridge');
      expect(owned).toContain('-rwxr-xr-x root:root  /usr/bin/nbwss-bridge');
      expect(owned.find((l) => l.endsWith(' /etc/nbwss-bridge/config.json'))).toMatch(/^-rw-r----- root:nbwss-bridge cn /);
    });

    it('is Apache-2.0 for x86_64 with a gzip payload (RHEL 8 reads it) and no generated dependencies', async () => {
      expect(await query('--queryformat', '%{LICENSE}')).toBe('Apache-2.0');
      expect(await query('--queryformat', '%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{PAYLOADCOMPRESSOR}')).toBe(`nbwss-bridge ${VERSION.replace(/-/g, '~')}-1 x86_64 gzip`);
      const requires = lines(await query('--requires')).filter((r) => !r.startsWith('rpmlib('));
      expect(requires.filter((r) => /\.so\b|^nodejs|^node\b/.test(r))).toEqual([]);
    });

    it('creates the user in %pre and stops the service only on erase, in plain shell', async () => {
      const scripts = await query('--scripts');
      const pre = /preinstall scriptlet \(using \/bin\/sh\):\n([\s\S]*?)(?=\n\w+ scriptlet|$)/.exec(scripts)?.[1] ?? '';
      expect(pre).toContain('groupadd --system nbwss-bridge');
      expect(pre).toMatch(/useradd --system .*--home-dir \/var\/lib\/nbwss-bridge .*--shell \/usr\/sbin\/nologin/);
      expect(scripts).toMatch(/preuninstall scriptlet[\s\S]*if \[ "\$1" -eq 0 \]; then[\s\S]*systemctl disable --now nbwss-bridge\.service/);
      expect(scripts).toMatch(/postuninstall scriptlet[\s\S]*if \[ "\$1" -ge 1 \]; then[\s\S]*systemctl try-restart nbwss-bridge\.service/);
      expect(scripts).not.toMatch(/systemctl (enable|start|restart)|%\{?systemd_/);
    });

    it('installs with rpm into an empty root (files and attributes only: no scripts, no dependencies there)', async () => {
      const root = scratch('rpm-install');
      expect((await exec('rpm', ['--root', root, '--initdb'])).code).toBe(0);
      const i = await exec('rpm', ['--root', root, '--install', '--nodeps', '--noscripts', ARTIFACTS.rpm]);
      expect(i.code, i.stderr).toBe(0);
      expect((await exec('rpm', ['--root', root, '--query', 'nbwss-bridge'])).stdout.trim()).toBe(`nbwss-bridge-${VERSION.replace(/-/g, '~')}-1.x86_64`);
      expect(statSync(join(root, 'var/lib/nbwss-bridge')).mode & 0o777).toBe(0o700);
      expect(statSync(join(root, 'usr/bin/nbwss-bridge')).mode & 0o777).toBe(0o755);
    });

    it('extracts to the single executable, byte for byte (not stripped), and it runs', async () => {
      const root = scratch('rpm-root');
      // cpio is not always installed; rpm2archive (rpm >= 4.15) gives a tar instead.
      const extract = (await onPath('cpio')) ? 'rpm2cpio "$1" | cpio -idm --quiet' : 'rpm2archive - < "$1" | tar -xzf - --no-same-owner';
      const x = await exec('sh', ['-c', extract, 'sh', ARTIFACTS.rpm], { cwd: root });
      expect(x.code, x.stderr).toBe(0);
      expect(existsSync(join(root, 'usr/bin/nbwss-bridge')), x.stderr).toBe(true);
      expect(sha256(join(root, 'usr/bin/nbwss-bridge'))).toBe(sha256(ARTIFACTS.sea));
      await expectVersion(join(root, 'usr/bin/nbwss-bridge'));
    });
  });

  describe('the npm tarball', () => {
    it('holds the built CLI, its launcher, the unit, the example config and the fixtures, and no sources', async () => {
      const files = await packed();
      for (const f of ['package/package.json', 'package/dist/cli/main.js', 'package/bin/nbwss-bridge', 'package/systemd/nbwss-bridge.service', 'package/config/config.example.json']) {
        expect(files).toContain(f);
      }
      expect(files.some((f) => f.startsWith('package/fixtures/') && f.endsWith('.json'))).toBe(true);
      expect(files.filter((f) => /^package\/(src|test|scripts|release)\//.test(f))).toEqual([]);
    });

    it('installs with npm install --global as a copy whose command runs', async () => {
      const prefix = scratch('npm-prefix');
      // Only what npm needs: no npm_config_* of the npm that started the tests.
      const env: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}:${PATH}`, HOME: process.env.HOME ?? tmp };
      const install = (...args: string[]) =>
        exec('npm', ['install', '--global', '--prefix', prefix, ARTIFACTS.tgz, '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier', ...args], { cwd: tmp, env, timeoutMs: 180_000 });
      let r = await install('--offline');
      if (r.code !== 0 && /ENOTCACHED/.test(r.stderr)) {
        // npm resolves the tarball's dependencies from registry documents the cache may not hold
        // (npm ci leaves only the tarballs): serve the lockfile's versions from that cache instead.
        console.warn('test/dist: npm install --offline found no registry documents in the cache; installing the lockfile versions from a loopback registry instead');
        const cache = (await exec('npm', ['config', 'get', 'cache'], { cwd: tmp, env })).stdout.trim();
        const registry = await new LockfileRegistry(join(ROOT, 'package-lock.json'), cache).start();
        cleanups.push(() => registry.stop());
        expect(registry.missing, 'dependencies not in the npm cache').toEqual([]);
        const userconfig = join(scratch('npmrc'), 'npmrc');
        writeFileSync(userconfig, '');
        r = await install('--registry', registry.url, '--cache', scratch('npm-cache'), '--userconfig', userconfig);
      }
      expect(r.code, r.stderr).toBe(0);

      const installed = join(prefix, 'lib', 'node_modules', 'nbwss-bridge');
      expect(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink()).toBe(true);
      await expectVersion(join(prefix, 'bin', 'nbwss-bridge'), env);
      const demo = await exec(join(prefix, 'bin', 'nbwss-bridge'), ['demo'], { cwd: scratch('npm-demo'), env });
      expect(demo.code, demo.stderr).toBe(0);
      expect(demo.stdout).toMatch(/\d+ requests, each answered once under its own id/);
    });
  });
});
