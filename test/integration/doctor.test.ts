// doctor against real loopback servers: a cloud that accepts, one that refuses the token, a REST
// API that is down, certificates expired or for another name, a proxy asking for credentials.
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Env } from '../../src/config/files.js';
import type { CheckResult } from '../../src/doctor/report.js';
import { runDoctor } from '../../src/doctor/run.js';
import { FakeCloud, netbackupHandler, RestServer } from '../support/fakes.js';
import { childEnv } from '../support/cli-env.js';
import { httpsServer, TEST_CA_FILE, TEST_CA2_FILE, type TestCert } from '../support/tls.js';
import { ConnectProxy } from '../support/proxy.js';
import { fixFor } from '../../src/doctor/rest.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cloud(token = 'doctor-token', cert?: TestCert): Promise<FakeCloud> {
  const c = await new FakeCloud({ token, ...(cert ? { server: httpsServer(undefined, cert) } : {}) }).start();
  cleanups.push(() => c.stop());
  return c;
}

async function rest(): Promise<RestServer> {
  const r = await new RestServer(netbackupHandler()).start();
  cleanups.push(() => r.stop());
  return r;
}

async function listening<T extends Server>(server: T): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => void server.close());
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const doctor = (env: Env) => runDoctor({ env, purpose: 'run' }, { systemd: false });
const find = (results: CheckResult[], check: string) => results.filter((r) => r.check === check);
const statusOf = (results: CheckResult[], check: string) => find(results, check).map((r) => r.status);

describe('doctor', () => {
  it('passes every check against a cloud that accepts the token and a REST API that answers', async () => {
    const [c, r] = await Promise.all([cloud(), rest()]);
    const results = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_REST_BASE_URL: r.url });
    expect(results.filter((x) => x.status === 'fail')).toEqual([]);
    for (const check of ['config', 'cloud-dns', 'cloud-tcp', 'cloud-connect', 'rest-tcp', 'rest-ping']) expect(statusOf(results, check)).toContain('ok');
    expect(r.requests.map((q) => q.url)).toEqual(['/netbackup/ping']);
    // The handshake was closed at once: the cloud saw a CONNECT and nothing else.
    const peer = c.peers[0];
    expect(peer?.messages.map((m) => m.type)).toEqual(['CONNECT']);
  });

  it('fails on a refused token, naming the cloud as the side and the command that rotates it', async () => {
    const [c, r] = await Promise.all([cloud('the-right-one'), rest()]);
    const results = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'a-wrong-token', NBWSS_REST_BASE_URL: r.url });
    expect(find(results, 'cloud-connect')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/valid:false.*\(cloud\)$/), fix: expect.stringMatching(/service rotate-token/) });
    expect(JSON.stringify(results)).not.toContain('a-wrong-token');
  });

  it('fails on a REST API that is down, saying where nothing listens', async () => {
    const c = await cloud();
    const results = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_REST_BASE_URL: 'http://127.0.0.1:1' });
    expect(find(results, 'rest-tcp')[0]).toMatchObject({ status: 'fail', summary: 'REST API unreachable: ECONNREFUSED', fix: expect.stringMatching(/nothing listens at 127\.0\.0\.1:1/) });
    expect(find(results, 'rest-ping')).toEqual([]);
  });

  it('fails on a REST certificate for another name, naming rest.servername and the names it holds; passes once it is set', async () => {
    const c = await cloud();
    const addr = await listening(httpsServer((req, res) => {
      res.writeHead(req.url === '/netbackup/ping' ? 200 : 404);
      res.end();
    }, 'othername'));
    const env = { NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_REST_BASE_URL: `https://${addr}`, NBWSS_REST_CA_FILE: TEST_CA2_FILE };
    const wrong = await doctor(env);
    expect(find(wrong, 'rest-tls')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/), fix: 'set rest.servername to a name the certificate holds: nbu.example' });
    const right = await doctor({ ...env, NBWSS_REST_SERVERNAME: 'nbu.example' });
    expect(find(right, 'rest-tls')[0]).toMatchObject({ status: 'ok', summary: expect.stringMatching(/trusted certificate for nbu\.example \(checked as nbu\.example\), \d+ days left/) });
    expect(statusOf(right, 'rest-ping')).toEqual(['ok']);
  });

  it('fails on an expired cloud certificate on the TLS step, before any handshake', async () => {
    const [c, r] = await Promise.all([cloud('doctor-token', 'expired'), rest()]);
    const results = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_CLOUD_CA_FILE: TEST_CA2_FILE, NBWSS_REST_BASE_URL: r.url });
    expect(find(results, 'cloud-tls')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/certificate has expired \(tls\)/) });
    expect(find(results, 'cloud-connect')).toEqual([]);
    expect(c.peers).toHaveLength(0);
  });

  it('names a proxy that asks for credentials as the proxy', async () => {
    const r = await rest();
    const proxy = createHttpServer();
    proxy.on('connect', (_req, socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'));
    const addr = await listening(proxy);
    const results = await doctor({ NBWSS_CLOUD_URL: 'wss://cloud.example/nbwss', NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_CLOUD_PROXY: `http://${addr}`, NBWSS_REST_BASE_URL: r.url });
    expect(find(results, 'cloud-proxy')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/asks for credentials \(407/), fix: expect.stringMatching(/cloud\.proxy/) });
  });

  it('warns about a secret file others can read, and fails each problem of a bad configuration', async () => {
    const [c, r] = await Promise.all([cloud(), rest()]);
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-doctor-'));
    writeFileSync(join(dir, 'token'), 'doctor-token\n', { mode: 0o644 });
    const open = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN_FILE: join(dir, 'token'), NBWSS_REST_BASE_URL: r.url, NBWSS_STATE_DIR: dir });
    expect(find(open, 'secret-files')[0]).toMatchObject({ status: 'warn', target: join(dir, 'token'), fix: `chmod 600 ${join(dir, 'token')}` });
    expect(find(open, 'state-dir')[0]).toMatchObject({ status: 'ok' });
    const bad = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CONCURRENCY: 'lots', NBWSS_REST_BASE_URL: 'https://nbu.example:1556/netbackup' });
    expect(bad.map((x) => [x.check, x.status])).toEqual([['config', 'fail'], ['config', 'fail']]);
    expect(bad.map((x) => x.summary)).toEqual([expect.stringMatching(/^queue\.concurrency: must be a whole number/), expect.stringMatching(/^rest\.baseUrl: must be the REST API's origin without a path/)]);
  });

  it('prints JSON with --json and exits 1 when a check fails, 0 when none does', async () => {
    const [c, r] = await Promise.all([cloud(), rest()]);
    const bin = fileURLToPath(new URL('../../bin/nbwss-bridge', import.meta.url));
    const cli = (env: Record<string, string>) => new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = spawn(process.execPath, [bin, 'doctor', '--json'], { env: childEnv({ PATH: process.env.PATH ?? '', ...env }) });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.on('exit', (code) => done({ code, stdout }));
    });
    const good = await cli({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_REST_BASE_URL: r.url });
    const parsed = JSON.parse(good.stdout) as { ok: boolean; results: CheckResult[] };
    expect(good.code).toBe(0);
    expect(parsed.ok).toBe(true);
    expect(parsed.results.find((x) => x.check === 'cloud-connect')).toMatchObject({ status: 'ok' });
    const down = await cli({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token', NBWSS_REST_BASE_URL: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect((JSON.parse(down.stdout) as { ok: boolean }).ok).toBe(false);
  });
});

describe('doctor, the other paths', () => {
  it('fails a closed port on the TCP step, and a cloud that never answers the CONNECT on the handshake', async () => {
    const r = await rest();
    const closed = await doctor({ NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/x', NBWSS_CLOUD_TOKEN: 't', NBWSS_REST_BASE_URL: r.url });
    expect(find(closed, 'cloud-tcp')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/refused the TCP connection \(network\)/) });
    const silent = await new FakeCloud({ token: 't', answerConnect: false }).start();
    cleanups.push(() => silent.stop());
    const results = await doctor({ NBWSS_CLOUD_URL: silent.url, NBWSS_CLOUD_TOKEN: 't', NBWSS_REST_BASE_URL: r.url, NBWSS_CONNECT_TIMEOUT_MS: '300' });
    expect(find(results, 'cloud-connect')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/did not answer the CONNECT in time/) });
  });

  it('goes through the proxy to a wss:// cloud whose CA is trusted, and compares the clocks on its Date', async () => {
    const r = await rest();
    const proxy = await new ConnectProxy().start();
    cleanups.push(() => proxy.stop());
    const ahead = new Date(Date.now() - 120_000).toUTCString();
    const c = await new FakeCloud({ token: 't', server: httpsServer(), upgradeHeaders: { date: ahead } }).start();
    cleanups.push(() => c.stop());
    const results = await doctor({ NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 't', NBWSS_CLOUD_CA_FILE: TEST_CA_FILE, NBWSS_CLOUD_PROXY: proxy.url, NBWSS_REST_BASE_URL: r.url });
    expect(find(results, 'cloud-proxy')[0]).toMatchObject({ status: 'ok', summary: expect.stringMatching(/opened a tunnel to localhost:\d+/) });
    expect(find(results, 'cloud-tls')[0]).toMatchObject({ status: 'ok', summary: expect.stringMatching(/^certificate for localhost, 127\.0\.0\.1 issued by .* \(chain of \d\), \d+ days left$/) });
    expect(find(results, 'cloud-connect')[0]).toMatchObject({ status: 'ok' });
    expect(find(results, 'clock')[0]).toMatchObject({ status: 'warn', summary: expect.stringMatching(/this host's clock is 1[12]\d s ahead of the cloud's/) });
  });

  it('logs in to a backend that keeps sessions and out again; fails a login the backend refuses', async () => {
    const sessions: string[] = [];
    const veeam = await new RestServer((req, res) => {
      if (req.method === 'POST' && req.url?.startsWith('/api/sessionMngr')) {
        const good = req.headers.authorization === `Basic ${Buffer.from('svc:the-password').toString('base64')}`;
        res.writeHead(good ? 201 : 401, { 'x-restsvcsessionid': 'sess-token', 'content-type': 'application/json' });
        res.end(JSON.stringify({ SessionId: 'S1' }));
        if (good) sessions.push('in');
        return;
      }
      if (req.method === 'DELETE' && req.url === '/api/logonSessions/S1') sessions.push('out');
      res.writeHead(204);
      res.end();
    }).start();
    cleanups.push(() => veeam.stop());
    const c = await cloud();
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-doctor-'));
    const config = (password: string) => {
      writeFileSync(join(dir, 'pw'), `${password}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ backends: [{ name: 'veeam-em', mount: '/veeam-em', baseUrl: veeam.url, allowedPaths: ['/api/jobs'], auth: { type: 'veeam-em', username: 'svc', passwordFile: join(dir, 'pw') } }] }));
      return { NBWSS_CONFIG: join(dir, 'config.json'), NBWSS_CLOUD_URL: c.url, NBWSS_CLOUD_TOKEN: 'doctor-token' };
    };
    const good = await doctor(config('the-password'));
    expect(find(good, 'backend-login')[0]).toMatchObject({ status: 'ok', summary: 'auth veeam-em: logged in and out' });
    expect(sessions).toEqual(['in', 'out']);
    const bad = await doctor(config('not-the-password'));
    expect(find(bad, 'backend-login')[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/logging in to the backend failed/) });
    expect(JSON.stringify(bad)).not.toContain('not-the-password');
  });

  it('gives a fix for each way a REST API cannot be reached', () => {
    const b = { name: 'netbackup', mount: '/', baseUrl: 'https://nbu.example:1556' } as never;
    expect(fixFor('ENOTFOUND', b, [])).toMatch(/does not resolve/);
    expect(fixFor('ETIMEDOUT', b, [])).toMatch(/firewall/);
    expect(fixFor('CERT_HAS_EXPIRED', b, [])).toMatch(/validity period/);
    expect(fixFor('SELF_SIGNED_CERT_IN_CHAIN', b, [])).toMatch(/rest\.caFile/);
    expect(fixFor('ERR_TLS_CERT_ALTNAME_INVALID', { name: 'veeam', mount: '/veeam', baseUrl: 'https://v:9398' } as never, ['v.corp'], 2)).toBe('set backends[2].servername to a name the certificate holds: v.corp');
    expect(fixFor('EWHATEVER', b, [])).toBe('see the error');
  });
});
