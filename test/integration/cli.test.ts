// The built command as users run it: bin/nbwss-bridge in a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCloud, netbackupHandler, RestServer, sendJson } from '../support/fakes.js';
import { childEnv } from '../support/cli-env.js';
import { duplicateKeys } from '../support/log.js';
import { until } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'nbwss-bridge');
const fixtures = join(root, 'fixtures');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the given NBWSS_* variables (plus PATH). */
function cli(args: string[], env: Record<string, string> = {}, opts: { stdin?: string; untilStdout?: RegExp; signal?: NodeJS.Signals } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: childEnv({ PATH: process.env.PATH ?? '', ...env }), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (!signalled && opts.untilStdout?.test(stdout) && opts.signal) {
        signalled = true;
        child.kill(opts.signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdin.end(opts.stdin ?? '');
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('nbwss-bridge CLI', () => {
  it('prints its version', async () => {
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `nbwss-bridge ${version} (Node.js ${process.version})\n` });
  });

  it('prints help with every command, and a short usage (exit 2) without one', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['run', 'replay FILE...', 'check-config', 'doctor', 'service install', 'demo', 'NBWSS_CLOUD_URL', 'NBWSS_ALLOWED_PATHS', '--no-FLAG']) expect(help.stdout).toContain(c);
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr.trim().split('\n').length).toBeLessThanOrEqual(15);
    expect(bare.stderr).toContain('nbwss-bridge --help');
  });

  it('exits 2 with one clear line on an unknown command or flag', async () => {
    const r = await cli(['serve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^nbwss-bridge: unknown command "serve"/);
    const typo = await cli(['run', '--concurency', '3']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('nbwss-bridge: unknown option --concurency (did you mean --concurrency?); see nbwss-bridge --help\n');
    expect((await cli(['run', '--cloud-url'])).stderr).toBe('nbwss-bridge: --cloud-url needs a value; see nbwss-bridge --help\n');
    expect((await cli(['run', '--fail-back=yes'])).stderr).toBe('nbwss-bridge: --fail-back takes no value (use --fail-back or --no-fail-back); see nbwss-bridge --help\n');
  });

  it('turns an on/off setting off with --no-FLAG, over the environment', async () => {
    const r = await cli(['check-config', '--no-fail-back'], { NBWSS_CLOUD_URL: 'wss://c.example/x', NBWSS_CLOUD_TOKEN: 'tok', NBWSS_FAIL_BACK: 'true' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).connection.failBack).toBe(false);
  });

  it('reports every problem of a configuration at once, a min above its max and a REST base URL with a path among them', async () => {
    const r = await cli(['check-config'], {
      NBWSS_CLOUD_URL: 'wss://c.example/x', NBWSS_CLOUD_TOKEN: 'tok', NBWSS_CONCURRENCY: 'lots',
      NBWSS_RECONNECT_MIN_MS: '9000', NBWSS_RECONNECT_MAX_MS: '100', NBWSS_REST_BASE_URL: 'https://nbu.example:1556/netbackup',
    });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/queue\.concurrency: must be a whole number/);
    expect(lines[1]).toBe('nbwss-bridge: configuration error: reconnect.minMs: 9000 is greater than reconnect.maxMs 100');
    expect(lines[2]).toMatch(/rest\.baseUrl: must be the REST API's origin without a path .*remove "\/netbackup"/);
  });

  it('stops start-up on a bad value with exit code 2 and a line naming the key', async () => {
    const r = await cli(['run'], { NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/x', NBWSS_CLOUD_TOKEN: 'secret-token-value', NBWSS_CONCURRENCY: 'lots' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('nbwss-bridge: configuration error: queue.concurrency: must be a whole number of at least 1: value was "lots"');
    expect(r.stderr + r.stdout).not.toContain('secret-token-value');
  });

  it('refuses plain ws:// to a remote host', async () => {
    const r = await cli(['run'], { NBWSS_CLOUD_URL: 'ws://cloud.example/x', NBWSS_CLOUD_TOKEN: 't' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cloud\.url: plain ws:\/\/ to cloud\.example would send tokens and JWTs in clear text/);
  });

  it('check-config prints the effective configuration with secrets redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-cli-'));
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ rest: { allowedPaths: ['/netbackup/admin/'] } }));
    const r = await cli(['check-config', '--config', cfg, '--concurrency', '5'], { NBWSS_CLOUD_URL: 'wss://c.example/x', NBWSS_CLOUD_TOKEN: 'secret-token-value' });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed).toMatchObject({ cloud: { url: 'wss://c.example/x', token: '[redacted]' }, rest: { allowedPaths: ['/netbackup/admin/'] }, queue: { concurrency: 5 }, configFile: cfg });
    expect(r.stdout).not.toContain('secret-token-value');
    expect((await cli(['check-config'], { NBWSS_LOG_LEVEL: 'x' })).code).toBe(2);
  });

  it('the example config file in config/ passes check-config under the directories systemd provides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-cli-'));
    writeFileSync(join(dir, 'etc_nbwss-bridge_token.83d854cb'), 'tok\n', { mode: 0o600 });
    const example = join(root, 'config', 'config.example.json');
    const r = await cli(['check-config', '--config', example], {
      CREDENTIALS_DIRECTORY: dir,
      NBWSS_STATE_DIR: join(dir, 'state'),
      NBWSS_REST_CA_FILE: join(root, 'test', 'support', 'tls', 'ca.pem'),
    });
    expect(r.stderr).toBe(`nbwss-bridge: configuration: ${example}\nnbwss-bridge: secret cloud.tokenFile: ${join(dir, 'etc_nbwss-bridge_token.83d854cb')} (systemd credential "etc_nbwss-bridge_token.83d854cb" of /etc/nbwss-bridge/token)\n`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).state.dir).toBe(join(dir, 'state'));
  });

  it('check-config warns when a token file can be read by its group or others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-cli-'));
    writeFileSync(join(dir, 'token'), 'tok\n', { mode: 0o644 });
    const r = await cli(['check-config'], { NBWSS_CLOUD_URL: 'wss://c.example/x', NBWSS_CLOUD_TOKEN_FILE: join(dir, 'token') });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`nbwss-bridge: warning: cloud.tokenFile: ${join(dir, 'token')} can be read by its group or others; chmod 600 it`);
  });

  it('check-config warns about every secret file a backend declares that others can read, and about secrets too short to scrub', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-cli-'));
    writeFileSync(join(dir, 'veeam.pw'), 'long-enough-password\n', { mode: 0o640 });
    writeFileSync(join(dir, 'nb.key'), 'abc\n', { mode: 0o600 });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({
      cloud: { url: 'wss://c.example/x', token: 't' },
      backends: [
        { name: 'veeam', mount: '/veeam-em', baseUrl: 'https://em.example:9398', allowedPaths: ['/api/jobs'], auth: { type: 'veeam-em', username: 'u', passwordFile: join(dir, 'veeam.pw') } },
        { name: 'nb', mount: '/', baseUrl: 'https://localhost:1556', allowedPaths: ['/netbackup/'], auth: { type: 'netbackup-apikey', apiKeyFile: join(dir, 'nb.key') } },
      ],
    }));
    const r = await cli(['check-config', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`nbwss-bridge: warning: backends[0].auth.passwordFile: ${join(dir, 'veeam.pw')} can be read by its group or others; chmod 600 it`);
    expect(r.stderr).toMatch(/backends\[1\]\.auth: a secret shorter than 4 characters/);
    expect(r.stdout).not.toContain('long-enough-password');
    expect(JSON.parse(r.stdout).backends[0].auth).toEqual({ type: 'veeam-em', username: 'u', password: '[redacted]', passwordFile: join(dir, 'veeam.pw') });
  });

  it('replay prints one COMMAND RESPONSE per request as NDJSON, in input order', async () => {
    const rest = await new RestServer(netbackupHandler()).start();
    cleanups.push(() => rest.stop());
    const files = ['01-get-vmserver.json', '02-post-vmserver.json', '10-refused-path-traversal.json', '12-invalid-method.json'].map((f) => join(fixtures, f));
    const r = await cli(['replay', ...files], { NBWSS_REST_BASE_URL: rest.url });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/refused by policy/);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.id, l.payload.responseCode])).toEqual([
      ['9CD2B89F-0BBF-4F60-974D-C1F3EF39B872', 200],
      ['99B9BD8C-9E3E-406A-A7EE-33B88531C7D9', 201],
      ['A07B8C9D-2E3F-4A4B-9C5D-7E8F9A0B1C2D', 403],
      ['C29D0E1F-4A5B-4C6D-9E7F-9A0B1C2D3E4F', 400],
    ]);
    expect(rest.requests.length).toBe(2);
  });

  it('replay - reads the requests from standard input', async () => {
    const rest = await new RestServer(netbackupHandler()).start();
    cleanups.push(() => rest.stop());
    const stdin = ['01-get-vmserver.json', '12-invalid-method.json'].map((f) => JSON.stringify(JSON.parse(readFileSync(join(fixtures, f), 'utf8')))).join('\n');
    const r = await cli(['replay', '-'], { NBWSS_REST_BASE_URL: rest.url }, { stdin });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { payload: { responseCode: number } }).payload.responseCode)).toEqual([200, 400]);
  });

  it('replay exits 1 naming inputs that are not requests, and still answers the rest', async () => {
    const rest = await new RestServer((_req, res) => sendJson(res, 200, {})).start();
    cleanups.push(() => rest.stop());
    const r = await cli(['replay', join(fixtures, 'responses', 'get-vmserver-response.json'), '/nonexistent.json', join(fixtures, '07-list-jobs.json')], {
      NBWSS_REST_BASE_URL: rest.url,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/get-vmserver-response\.json: not a COMMAND REQUEST/);
    expect(r.stderr).toMatch(/\/nonexistent\.json: cannot read: ENOENT/);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('run serves commands and exits 0 on SIGTERM, closing the socket with 1001', async () => {
    const rest = await new RestServer((_req, res) => sendJson(res, 200, { ok: true })).start();
    const cloud = await new FakeCloud({ token: 'cli-token' }).start();
    cleanups.push(() => rest.stop(), () => cloud.stop());
    const child = spawn(process.execPath, [bin, 'run'], {
      cwd: root,
      env: childEnv({ PATH: process.env.PATH ?? '', NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: 'cli-token', NBWSS_REST_BASE_URL: rest.url }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const peer = await cloud.readyPeer(0);
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    child.kill('SIGHUP');
    await until(() => out.includes('configuration reloaded'));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await peer.closed).toBe(1001);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['nbwss-bridge starting', 'connected to the cloud; serving commands', 'stopped']));
    // Every line says which module wrote it, and names each key once (strict JSON parsers refuse repeats).
    expect(lines.filter((l) => typeof (l as { mod?: unknown }).mod !== 'string').map((l) => l.msg)).toEqual([]);
    expect(out.trim().split('\n').flatMap((l) => duplicateKeys(l))).toEqual([]);
    expect(out).not.toContain('cli-token');
  });

  it('writes human-readable lines with --log-format pretty, JSON otherwise', async () => {
    const env = { NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/x', NBWSS_CLOUD_TOKEN: 'pretty-token' };
    const pretty = await cli(['run', '--log-format', 'pretty'], env, { untilStdout: /nbwss-bridge starting/, signal: 'SIGTERM' });
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toMatch(/^\[[\d:.]+\] INFO: nbwss-bridge starting$/m);
    expect(pretty.stdout).toMatch(/^ {4}mod: "daemon"$/m);
    expect(pretty.stdout).not.toContain('pretty-token');
    const json = await cli(['run'], env, { untilStdout: /nbwss-bridge starting/, signal: 'SIGTERM' });
    expect(JSON.parse(json.stdout.split('\n')[0] as string)).toMatchObject({ mod: 'daemon', msg: 'nbwss-bridge starting' });
  });

  it('demo replays every fixture through the real daemon and exits 0', async () => {
    const r = await cli(['demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/12 requests, each answered once under its own id: 200×4, 201×2, 204×2, 400×1, 403×2, 404×1\./);
    expect(r.stdout).toMatch(/GET\s+\/netbackup\/config\/servers\/vmservers\/vCenter2\.domain\.com\s+→ 200/);
    for (const state of ['QUEUED', 'ACTIVE', 'DONE  ']) expect(r.stdout).toMatch(new RegExp(`NOTIFICATION JOB 4736 ${state} ST_DINC vm-demo\\.domain\\.com`));
    for (const product of ['Veeam EM', 'Veeam VBR', 'Cohesity', 'AhsayCBS', 'Storware']) expect(r.stdout).toMatch(new RegExp(`${product}\\s+(GET|POST)\\s+\\S+\\s+→ 200`));
  });

  it('demo --keep-running sends typed commands through the bridge until stdin ends', async () => {
    const r = await cli(['demo', '--keep-running'], {}, { stdin: 'GET /netbackup/admin/jobs/4711\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Still running/);
    expect(r.stdout).toMatch(/→ 200 \{"data":\{"type":"job","id":"4711"/);
  });

  describe('process edges (the built signals module in a child process)', () => {
    const script = (body: string) => `
      import { installSignalHandlers } from './dist/lifecycle/signals.js';
      import { createLogger } from './dist/lifecycle/logger.js';
      const log = createLogger({ level: 'info' });
      ${body}
      setInterval(() => {}, 1000);
      process.stdout.write('READY\\n');`;
    const node = (code: string, signals: NodeJS.Signals[] = []) =>
      new Promise<Run>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, env: childEnv({ ...process.env }), stdio: 'pipe' });
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString('utf8');
          if (stdout.includes('READY')) for (const [i, sig] of signals.entries()) setTimeout(() => child.kill(sig), 50 * (i + 1));
        });
        child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr: '' }));
      });
    const exitVia = "exit: (c) => { log.flush(); process.exit(c); }";

    it('logs an uncaught error at fatal and exits 1', async () => {
      const r = await node(script(`installSignalHandlers(log, { stop: async () => {}, ${exitVia} }); setTimeout(() => { throw new Error('boom'); }, 20);`));
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/"level":"fatal".*uncaught error/);
    });

    it('exits 0 once a graceful stop settles, and 1 at once on a second signal', async () => {
      const graceful = await node(script(`installSignalHandlers(log, { stop: async () => {}, ${exitVia} });`), ['SIGTERM']);
      expect(graceful.code).toBe(0);
      const forced = await node(script(`installSignalHandlers(log, { stop: () => new Promise(() => {}), ${exitVia} });`), ['SIGINT', 'SIGINT']);
      expect(forced.code).toBe(1);
      expect(forced.stdout).toMatch(/second signal during shutdown/);
    });
  });
});
