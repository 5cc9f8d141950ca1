// Backends beyond NetBackup: routing by mount, and each auth profile against its simulator;
// the cloud side is the product's hub.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { AhsaySim, CohesitySim, IbmCloudSim, StorwareSim, VeeamEmSim, VeeamVbrSim } from '../../src/demo/products.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { RestServer, sendJson, type CloudMessage, type RestHandler } from '../support/fakes.js';
import { HubPeer } from '../support/hub-peer.js';
import { captureLog, type CapturedLog } from '../support/log.js';
import { httpsServer, TEST_CA_FILE } from '../support/tls.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const dir = mkdtempSync(join(tmpdir(), 'nbwss-backends-'));
const secret = (name: string, value: string) => {
  const p = join(dir, `${name}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return p;
};

async function serve(handler: RestHandler) {
  const r = await new RestServer(handler).start();
  cleanups.push(() => r.stop());
  return r;
}

interface Bridge {
  peer: HubPeer;
  logs: CapturedLog;
  daemon: Daemon;
  stop(): Promise<void>;
}

async function bridgeWith(backends: object[], extra: object = {}): Promise<Bridge> {
  const cloud = await HubPeer.start('backends-token');
  cleanups.push(() => cloud.stop());
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ cloud: { url: cloud.url, token: 'backends-token' }, backends, ...extra }));
  const { config } = loadConfig({ env: {}, configFile: file, purpose: 'run' });
  const logs = captureLog();
  const daemon = await Daemon.open(config, logs.log);
  await daemon.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await daemon.stop();
  };
  cleanups.push(stop);
  return { peer: await cloud.ready(), logs, daemon, stop };
}

const body = (m: CloudMessage) => JSON.parse(m.payload.body as string);
const SECRETS = ['S3cret-Pa55', 'cohesity-api-key-value', 'ibm-cloud-api-key-value', 'nb-api-key-value'];
const noSecrets = (logs: CapturedLog, ...more: string[]) => {
  for (const s of [...SECRETS, ...more]) expect(logs.text()).not.toContain(s);
};

describe('routing by mount', () => {
  it('sends each uri to the backend whose mount is its longest prefix, strips the mount, and refuses what reaches none', async () => {
    const nb = await serve((req, res) => sendJson(res, 200, { nb: req.url }));
    const other = await serve((req, res) => sendJson(res, 200, { other: req.url }));
    const { peer } = await bridgeWith([
      { name: 'netbackup', mount: '/', baseUrl: nb.url, allowedPaths: ['/netbackup/'] },
      { name: 'other', mount: '/other', baseUrl: other.url, allowedPaths: ['/api/'] },
    ]);
    expect(body(await peer.command('GET', '/netbackup/admin/jobs'))).toEqual({ nb: '/netbackup/admin/jobs' });
    expect(body(await peer.command('GET', '/other/api/things?x=1'))).toEqual({ other: '/api/things?x=1' });
    const refused = await peer.command('GET', '/other/admin');
    expect(refused.payload.responseCode).toBe(403);
    expect(body(refused).errorMessage).toMatch(/outside the allowed paths \(\/api\/\)/);
    expect((await peer.command('GET', '/other/../netbackup/admin/jobs')).payload.responseCode).toBe(403);
    expect((await peer.command('GET', '/otherthing/api/x')).payload.responseCode).toBe(403);
    expect(other.requests.map((r) => r.url)).toEqual(['/api/things?x=1']);
  });

  it('answers 403 when a uri reaches no backend', async () => {
    const other = await serve((_req, res) => sendJson(res, 200, {}));
    const { peer } = await bridgeWith([{ name: 'other', mount: '/other', baseUrl: other.url, allowedPaths: ['/api/'] }]);
    const r = await peer.command('GET', '/netbackup/admin/jobs');
    expect(r.payload.responseCode).toBe(403);
    expect(body(r).errorMessage).toMatch(/reaches no backend \(mounts: \/other\)/);
  });

  it('refuses at start a configuration that lets one uri reach two backends, or names a backend twice', () => {
    const problems = (backends: object[]) => {
      const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({ cloud: { url: 'wss://c.example/x', token: 't' }, backends }));
      try {
        loadConfig({ env: {}, configFile: file, purpose: 'run' });
      } catch (err) {
        return (err as { problems: string[] }).problems.join('\n');
      }
      return '';
    };
    const b = (name: string, mount: string, allowedPaths = ['/api/']) => ({ name, mount, baseUrl: 'https://h.example', allowedPaths });
    expect(problems([b('a', '/x'), b('b', '/x')])).toMatch(/a and b both mount \/x/);
    expect(problems([b('nb', '/', ['/']), b('veeam', '/veeam-em')])).toMatch(/nb allows \/ under its mount \/, which reaches into veeam's mount \/veeam-em/);
    expect(problems([b('nb', '/', ['/veeam-em/api/']), b('veeam', '/veeam-em')])).toMatch(/reaches into veeam's mount/);
    expect(problems([b('nb', '/', ['/netbackup/']), b('veeam', '/veeam-em')])).toBe('');
    expect(problems([b('a', '/x'), b('a', '/y')])).toMatch(/the name a is used twice/);
    expect(problems([b('a', 'x')])).toMatch(/backends\[0\]\.mount: must be "\/" or a path/);
    expect(problems([{ ...b('a', '/x'), auth: { type: 'magic' } }])).toMatch(/backends\[0\]\.auth\.type: must be one of passthrough/);
    expect(problems([{ ...b('a', '/x'), auth: { type: 'veeam-em', username: 'u' } }])).toMatch(/backends\[0\]\.auth\.passwordFile: required for auth type veeam-em/);
    expect(problems([{ ...b('a', '/x'), auth: { type: 'storware', username: 'u', passwordFile: '/nonexistent' } }])).toMatch(/backends\[0\]\.auth\.passwordFile: cannot read \/nonexistent: ENOENT/);
  });
});

describe('auth profiles', () => {
  it('proxmox-pbs sends its API token; an answer echoing it reaches the cloud redacted, and no log holds it', async () => {
    const secretValue = '0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d';
    const pbs = await serve((req, res) => sendJson(res, 200, { data: { echo: req.headers.authorization } }, { 'set-cookie': 'PBSAuthCookie=x' }));
    const { peer, logs } = await bridgeWith([
      { name: 'pbs', mount: '/pbs', baseUrl: pbs.url, allowedPaths: ['/api2/json/'], auth: { type: 'proxmox-pbs', tokenId: 'backup@pbs!cloud', tokenSecretFile: secret('pbs', secretValue) } },
    ]);
    const answer = await peer.command('GET', '/pbs/api2/json/admin/datastore', { headers: { Authorization: 'cloud-jwt' } });
    expect(pbs.requests[0]?.headers.authorization).toBe(`PBSAPIToken=backup@pbs!cloud:${secretValue}`);
    expect(answer.payload.responseCode).toBe(200);
    expect(body(answer)).toEqual({ data: { echo: '[redacted]' } });
    expect(answer.payload.headers).not.toHaveProperty('set-cookie');
    noSecrets(logs, secretValue);
  });

  it('netbackup-apikey sets Authorization to the local API key, replacing the cloud JWT; an answer echoing the key reaches the cloud with it redacted', async () => {
    const nb = await serve((req, res) => sendJson(res, 200, { auth: req.headers.authorization }, { 'x-echo': String(req.headers.authorization), etag: '"v1"' }));
    const { peer, logs, daemon } = await bridgeWith(
      [{ name: 'netbackup', mount: '/', baseUrl: nb.url, allowedPaths: ['/netbackup/'], auth: { type: 'netbackup-apikey', apiKeyFile: secret('nbkey', 'nb-api-key-value') } }],
      { metrics: { listen: '127.0.0.1:0' } },
    );
    const answer = await peer.command('GET', '/netbackup/admin/jobs');
    expect(nb.requests[0]?.headers.authorization).toBe('nb-api-key-value');
    expect(body(answer)).toEqual({ auth: '[redacted]' });
    expect(answer.payload.headers).toMatchObject({ etag: '"v1"' });
    expect(answer.payload.headers).not.toHaveProperty('x-echo');
    const metrics = await (await fetch(`http://${daemon.metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/^nbwss_secrets_redacted_total\{backend="netbackup"\} 1$/m);
    expect(logs.lines().find((l) => /echoed a credential/.test(String(l.msg)))).toMatchObject({ level: 'warn', backend: 'netbackup' });
    noSecrets(logs);
  });

  it('veeam-em logs in once with Basic, signs calls with the session header, logs in again on 401, keeps XML as text, deletes its session on shutdown', async () => {
    const sim = new VeeamEmSim();
    const em = await serve(sim.handler);
    const pw = secret('veeam', sim.password);
    const { peer, logs, stop } = await bridgeWith([{ name: 'veeam', mount: '/veeam-em', baseUrl: em.url, allowedPaths: ['/api/'], auth: { type: 'veeam-em', username: sim.username, passwordFile: pw } }]);
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => peer.command('GET', '/veeam-em/api/jobs')));
    expect(sim.logins).toBe(1);
    for (const r of [a, b, c]) expect(r?.payload.responseCode).toBe(200);
    expect(a?.payload.body).toMatch(/^<EntityReferences/);
    expect(a?.payload.bodyEncoding).toBeUndefined();
    expect(a?.payload.headers).not.toHaveProperty('x-restsvcsessionid');
    const started = await peer.command('POST', '/veeam-em/api/jobs/urn:veeam:Job:1?action=start', { headers: { Accept: 'application/json', Authorization: 'cloud-sent-credential' } });
    expect(started.payload.responseCode).toBe(202);
    expect(sim.calls.at(-1)?.headers.authorization).toBeUndefined();
    sim.expireSessions();
    expect((await peer.command('GET', '/veeam-em/api/jobs', { headers: { Accept: 'application/json' } })).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(2);
    await stop();
    expect(sim.logouts).toBe(1);
    noSecrets(logs);
  });

  it('sessions: concurrent 401s on a stale session share one new login, the replaced session is deleted first, at most one lives, and a path that always answers 401 costs no login per request', async () => {
    const sim = new VeeamEmSim();
    const em = await serve(sim.handler);
    const pw = secret('veeam', sim.password);
    const { peer, stop, daemon } = await bridgeWith(
      [{ name: 'veeam', mount: '/veeam-em', baseUrl: em.url, allowedPaths: ['/api/'], auth: { type: 'veeam-em', username: sim.username, passwordFile: pw } }],
      { metrics: { listen: '127.0.0.1:0' } },
    );
    expect((await peer.command('GET', '/veeam-em/api/jobs')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(1);
    sim.expireSessions();
    const five = await Promise.all([1, 2, 3, 4, 5].map(() => peer.command('GET', '/veeam-em/api/jobs')));
    expect(five.map((r) => r.payload.responseCode)).toEqual([200, 200, 200, 200, 200]);
    expect(sim.logins).toBe(2);
    expect(sim.sessions.size).toBe(1);
    // A resource the account may not see answers 401 on a valid session: answered as it is, at most one new login for it.
    for (let i = 0; i < 5; i++) expect((await peer.command('GET', '/veeam-em/api/restricted')).payload.responseCode).toBe(401);
    expect(sim.logins).toBeLessThanOrEqual(3);
    expect(sim.sessions.size).toBe(1);
    const metrics = await (await fetch(`http://${daemon.metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/^nbwss_backend_sessions\{backend="veeam"\} 1$/m);
    await stop();
    expect(sim.sessions.size).toBe(0);
  });

  it('veeam-vbr uses the OAuth2 password grant with x-api-version, refreshes before expiry, logs out on shutdown', async () => {
    const sim = new VeeamVbrSim();
    sim.expiresIn = 30;
    const vbr = await serve(sim.handler);
    const { peer, logs, stop } = await bridgeWith([
      { name: 'vbr', mount: '/veeam-vbr', baseUrl: vbr.url, allowedPaths: ['/api/v1/'], auth: { type: 'veeam-vbr', username: sim.username, passwordFile: secret('vbr', sim.password), apiVersion: '1.1-rev2' } },
    ]);
    const r = await peer.command('GET', '/veeam-vbr/api/v1/jobs');
    expect(r.payload.responseCode).toBe(200);
    expect(sim.calls[0]?.headers['x-api-version']).toBe('1.1-rev2');
    await peer.command('GET', '/veeam-vbr/api/v1/jobs');
    expect(sim.logins).toBe(3); // expiring within a minute: refreshed before each use
    await stop();
    expect(sim.logouts).toBe(1);
    noSecrets(logs);
  });

  it('veeam-vbr renews a token about to run out once for all the calls waiting on it', async () => {
    const sim = new VeeamVbrSim();
    sim.expiresIn = 30;
    const vbr = await serve(sim.handler);
    const { peer } = await bridgeWith([
      { name: 'vbr', mount: '/veeam-vbr', baseUrl: vbr.url, allowedPaths: ['/api/v1/'], auth: { type: 'veeam-vbr', username: sim.username, passwordFile: secret('vbr', sim.password) } },
    ]);
    const answers = await Promise.all(Array.from({ length: 5 }, () => peer.command('GET', '/veeam-vbr/api/v1/jobs')));
    for (const a of answers) expect(a.payload.responseCode).toBe(200);
    expect(sim.logins).toBe(2); // one password grant, one refresh shared by all five
  });

  it('veeam-vbr falls back to a fresh password login when the refresh is refused, logging the old token out first', async () => {
    const sim = new VeeamVbrSim();
    sim.expiresIn = 30;
    const vbr = await serve(sim.handler);
    const { peer } = await bridgeWith([
      { name: 'vbr', mount: '/veeam-vbr', baseUrl: vbr.url, allowedPaths: ['/api/v1/'], auth: { type: 'veeam-vbr', username: sim.username, passwordFile: secret('vbr', sim.password) } },
    ]);
    expect((await peer.command('GET', '/veeam-vbr/api/v1/jobs')).payload.responseCode).toBe(200);
    const grants = sim.logins;
    sim.refreshTokens.clear();
    expect((await peer.command('GET', '/veeam-vbr/api/v1/jobs')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(grants + 1);
    expect(sim.logouts).toBe(1);
  });

  it('cohesity logs in for an access token, sends X-IBM-Tenant-Id as given, renews on 401; or uses an apiKey header', async () => {
    const sim = new CohesitySim();
    const api = await serve(sim.handler);
    const { peer, logs } = await bridgeWith([
      { name: 'cohesity', mount: '/cohesity', baseUrl: api.url, allowedPaths: ['/v2/'], auth: { type: 'cohesity', username: sim.username, passwordFile: secret('coh', sim.password), domain: 'LOCAL', tenantId: 'tenant-42/' } },
      { name: 'cohesity-key', mount: '/cohesity-key', baseUrl: api.url, allowedPaths: ['/v2/'], auth: { type: 'cohesity', apiKeyFile: secret('cohkey', sim.apiKey) } },
    ]);
    expect((await peer.command('GET', '/cohesity/v2/data-protect/protection-groups')).payload.responseCode).toBe(200);
    expect(sim.calls[0]?.headers['x-ibm-tenant-id']).toBe('tenant-42/');
    expect(sim.calls[0]?.headers.authorization).toMatch(/^Bearer /);
    sim.expireSessions();
    expect((await peer.command('GET', '/cohesity/v2/data-protect/protection-groups')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(2);
    expect((await peer.command('GET', '/cohesity/v2/data-protect/protection-groups', { headers: { 'X-IBM-Tenant-Id': 'cloud-tenant/' } })).payload.responseCode).toBe(200);
    expect(sim.calls.at(-1)?.headers['x-ibm-tenant-id']).toBe('tenant-42/');
    // Without a configured tenantId, the cloud's own X-IBM-Tenant-Id goes through (an IBM-hosted cluster needs it on every call).
    expect((await peer.command('GET', '/cohesity-key/v2/data-protect/protection-groups', { headers: { 'X-IBM-Tenant-Id': 'cloud-tenant/' } })).payload.responseCode).toBe(200);
    expect(sim.calls.at(-1)?.headers.apikey).toBe(sim.apiKey);
    expect(sim.calls.at(-1)?.headers['x-ibm-tenant-id']).toBe('cloud-tenant/');
    expect(sim.logins).toBe(2);
    noSecrets(logs);
  });

  it('ibm-iam exchanges the API key at the IAM token URL and sends Bearer plus X-IBM-Tenant-Id', async () => {
    const sim = new IbmCloudSim();
    const cloudApi = await serve(sim.handler);
    const { peer, logs } = await bridgeWith([
      { name: 'ibm', mount: '/ibm', baseUrl: cloudApi.url, allowedPaths: ['/v2/'], auth: { type: 'ibm-iam', apiKeyFile: secret('ibm', sim.apiKey), tokenUrl: `${cloudApi.url}/identity/token`, tenantId: 'tenant-7/' } },
    ]);
    expect((await peer.command('GET', '/ibm/v2/data-protect/protection-groups')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(1);
    expect(sim.tenants).toEqual(['tenant-7/']);
    noSecrets(logs);
  });

  it('ibm-iam reaches IAM through the REST client: the backend\'s CA is trusted and its time limit kept', async () => {
    const sim = new IbmCloudSim();
    const api = await serve(sim.handler);
    // IAM on https, with a certificate of the test CA; the simulator reads the token call's form.
    const iam = httpsServer();
    iam.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        void sim.handler({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, text: body.toString('utf8') }, res);
      });
    });
    await new Promise<void>((r) => iam.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => iam.close(() => r())));
    const port = (iam.address() as { port: number }).port;
    const auth = { type: 'ibm-iam', apiKeyFile: secret('ibm-tls', sim.apiKey), tokenUrl: `https://localhost:${port}/identity/token`, tenantId: 't/' };
    const trusted = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: api.url, caFile: TEST_CA_FILE, allowedPaths: ['/v2/'], auth }]);
    expect((await trusted.peer.command('GET', '/ibm/v2/data-protect/protection-groups')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(1);
    const untrusted = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: api.url, allowedPaths: ['/v2/'], auth: { ...auth, apiKeyFile: secret('ibm-tls2', sim.apiKey) } }]);
    const refused = await untrusted.peer.command('GET', '/ibm/v2/data-protect/protection-groups');
    expect(refused.payload.responseCode).toBe(502);
    expect(body(refused).errorMessage).toMatch(/IAM token URL unreachable: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    const hanging = await serve(() => new Promise<void>(() => {}));
    const slow = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: api.url, timeoutMs: 300, allowedPaths: ['/v2/'], auth: { ...auth, apiKeyFile: secret('ibm-slow', sim.apiKey), tokenUrl: `${hanging.url}/identity/token` } }]);
    const late = await slow.peer.command('GET', '/ibm/v2/data-protect/protection-groups');
    expect(late.payload.responseCode).toBe(502);
    expect(body(late).errorMessage).toMatch(/IAM token URL unreachable: REST call timed out after 300 ms/);
    noSecrets(trusted.logs);
  });

  it('ibm-iam sends the token call to the token URL as written: a trailing slash, a query, or the root', async () => {
    const sim = new IbmCloudSim();
    const api = await serve(sim.handler);
    const paths: string[] = [];
    const iam = await serve((req, res) => {
      paths.push(req.url);
      sendJson(res, 200, { access_token: 'iam-access-token-value', expires_in: 3600 });
    });
    for (const tokenUrl of [`${iam.url}/identity/token/`, `${iam.url}/identity/token?realm=eu`, `${iam.url}/`]) {
      const b = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: api.url, allowedPaths: ['/v2/'], auth: { type: 'ibm-iam', apiKeyFile: secret('ibm-url', sim.apiKey), tokenUrl, tenantId: 't/' } }]);
      await b.peer.command('GET', '/ibm/v2/data-protect/protection-groups');
      await b.stop();
    }
    expect(paths).toEqual(['/identity/token/', '/identity/token?realm=eu', '/']);
  });

  it('ibm-iam asks IAM with a form, renews a token about to run out before using it, takes an hour when IAM names no lifetime, and says what failed', async () => {
    const sim = new IbmCloudSim();
    const cloudApi = await serve(sim.handler);
    const auth = { type: 'ibm-iam', apiKeyFile: secret('ibm', sim.apiKey), tokenUrl: `${cloudApi.url}/identity/token`, tenantId: 't/' };
    const { peer, logs } = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: cloudApi.url, allowedPaths: ['/v2/'], auth }]);
    const call = async () => (await peer.command('GET', '/ibm/v2/data-protect/protection-groups')).payload;
    sim.expiresIn = 30;
    expect((await call()).responseCode).toBe(200);
    const first = sim.logins;
    expect((await call()).responseCode).toBe(200);
    // A token that runs out within a minute is renewed before every use.
    expect(sim.logins).toBeGreaterThan(first);
    expect(sim.tokenHeaders[0]).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
    const echoed = await peer.command('GET', '/ibm/v2/debug/echo');
    expect(echoed.payload.responseCode).toBe(200);
    for (const token of sim.sessions) expect(echoed.payload.body).not.toContain(token);
    noSecrets(logs);
    const quiet = new IbmCloudSim();
    quiet.expiresIn = undefined;
    const quietApi = await serve(quiet.handler);
    const second = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: quietApi.url, allowedPaths: ['/v2/'], auth: { ...auth, apiKeyFile: secret('ibm2', quiet.apiKey), tokenUrl: `${quietApi.url}/identity/token` } }]);
    for (let i = 0; i < 2; i++) expect((await second.peer.command('GET', '/ibm/v2/data-protect/protection-groups')).payload.responseCode).toBe(200);
    expect(quiet.logins).toBe(1);
    for (const [knob, said] of [['status', /IAM token URL answered 503/], ['token', /no access_token in the IAM answer/]] as const) {
      const broken = new IbmCloudSim();
      if (knob === 'status') broken.tokenStatus = 503;
      else broken.omitToken = true;
      const api = await serve(broken.handler);
      const b = await bridgeWith([{ name: 'ibm', mount: '/ibm', baseUrl: api.url, allowedPaths: ['/v2/'], auth: { ...auth, apiKeyFile: secret(`ibm-${knob}`, broken.apiKey), tokenUrl: `${api.url}/identity/token` } }]);
      const r = await b.peer.command('GET', '/ibm/v2/data-protect/protection-groups');
      expect(r.payload.responseCode).toBe(502);
      expect(body(r).errorMessage).toMatch(said);
    }
  });

  it('ahsay injects SysUser and SysPwd into every body, overwriting those the cloud sent, and counts errors reported with status 200', async () => {
    const sim = new AhsaySim();
    const cbs = await serve(sim.handler);
    const { peer, logs, daemon } = await bridgeWith(
      [{ name: 'ahsay', mount: '/ahsay', baseUrl: cbs.url, allowedPaths: ['/obs/api/json/'], auth: { type: 'ahsay', username: sim.username, passwordFile: secret('ahsay', sim.password) } }],
      { metrics: { listen: '127.0.0.1:0' } },
    );
    const ok = await peer.command('POST', '/ahsay/obs/api/json/2/ListUsers.do', { parameters: JSON.stringify({ SysUser: 'cloud', SysPwd: 'cloud-pw', Owner: '' }) });
    expect(body(ok)).toMatchObject({ Status: 'OK' });
    expect(JSON.parse(sim.calls[0]?.text ?? '{}')).toEqual({ SysUser: sim.username, SysPwd: sim.password, Owner: '' });
    const err = await peer.command('POST', '/ahsay/obs/api/json/2/NoSuch.do', { parameters: '{}' });
    expect(err.payload.responseCode).toBe(200);
    expect(body(err)).toMatchObject({ Status: 'Error' });
    const metrics = await (await fetch(`http://${daemon.metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/^nbwss_backend_reported_errors_total\{backend="ahsay"\} 1$/m);
    noSecrets(logs);
  });

  it('ahsay with the example config: reaches the status calls under /cbs/api/json/, counts an ExptType beside Status OK, and answers 400 for parameters that are not an object', async () => {
    const sim = new AhsaySim();
    const cbs = await serve(sim.handler);
    const example = JSON.parse(readFileSync(new URL('../../config/backends.example.json', import.meta.url), 'utf8')) as { backends: { name: string; allowedPaths: string[]; allowedMethods: string[] }[] };
    const shipped = example.backends.find((b) => b.name === 'ahsay')!;
    const { peer, daemon } = await bridgeWith(
      [{ name: 'ahsay', mount: '/ahsay', baseUrl: cbs.url, allowedPaths: shipped.allowedPaths, allowedMethods: shipped.allowedMethods, auth: { type: 'ahsay', username: sim.username, passwordFile: secret('ahsay', sim.password) } }],
      { metrics: { listen: '127.0.0.1:0' } },
    );
    const status = await peer.command('POST', '/ahsay/cbs/api/json/GetUserStatus.do', { parameters: '{"LoginName":"alice"}' });
    expect(status.payload.responseCode).toBe(200);
    expect(body(status)).toMatchObject({ Status: 'OK', Data: { Status: 'ENABLE' } });
    expect((await peer.command('POST', '/ahsay/cbs/api/json/GetServerRunJobStatus.do', { parameters: '{}' })).payload.responseCode).toBe(200);
    const missing = await peer.command('POST', '/ahsay/cbs/api/json/GetUserStatus.do', { parameters: '{"LoginName":"bob"}' });
    expect(body(missing)).toMatchObject({ Status: 'OK', ExptType: expect.stringContaining('UserNotFound') });
    const calls = sim.calls.length;
    for (const parameters of ['[1]', '"alice"', 'null', 'LoginName=alice']) {
      const bad = await peer.command('POST', '/ahsay/cbs/api/json/GetUserStatus.do', { parameters });
      expect(bad.payload.responseCode, parameters).toBe(400);
      expect(body(bad).errorMessage).toMatch(/parameters must be a JSON object for AhsayCBS/);
    }
    expect(sim.calls).toHaveLength(calls);
    const metrics = await (await fetch(`http://${daemon.metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/^nbwss_backend_reported_errors_total\{backend="ahsay"\} 1$/m);
  });

  it('ahsay: the policy checks the method sent (every call goes as POST), so allowedMethods ["GET"] lets nothing through', async () => {
    const sim = new AhsaySim();
    const cbs = await serve(sim.handler);
    const auth = { type: 'ahsay', username: sim.username, passwordFile: secret('ahsay', sim.password) };
    const { peer } = await bridgeWith([{ name: 'ahsay', mount: '/ahsay', baseUrl: cbs.url, allowedPaths: ['/obs/api/json/'], allowedMethods: ['GET'], auth }]);
    const refused = await peer.command('GET', '/ahsay/obs/api/json/2/ListUsers.do');
    expect(refused.payload.responseCode).toBe(403);
    expect(body(refused).details.code).toBe('NBW_ERR_POLICY_METHOD');
    expect(body(refused).errorMessage).toMatch(/POST is not allowed/);
    expect(sim.calls).toHaveLength(0);
  });

  it('storware keeps the session cookie whatever its name, logs in again on 401, logs out on shutdown, and never passes the cookie on', async () => {
    const sim = new StorwareSim();
    sim.cookieName = 'VPROTECTSESSION';
    const api = await serve(sim.handler);
    const { peer, logs, stop } = await bridgeWith([
      { name: 'storware', mount: '/storware', baseUrl: api.url, allowedPaths: ['/api/'], auth: { type: 'storware', username: sim.username, passwordFile: secret('sw', sim.password) } },
    ]);
    const r = await peer.command('GET', '/storware/api/virtual-machines', { headers: { Cookie: 'VPROTECTSESSION=forged' } });
    expect(r.payload.responseCode).toBe(200);
    expect(sim.calls[0]?.headers.cookie).toMatch(/^VPROTECTSESSION=[0-9a-f-]{36}$/);
    sim.expireSessions();
    expect((await peer.command('GET', '/storware/api/virtual-machines')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(2);
    await stop();
    expect(sim.logouts).toBe(1);
    noSecrets(logs);
  });

  it.each([
    ['header', 'x-auth-token', /header x-auth-token/],
    ['body', 'authorization', /token in the body's \\"token\\", sent as a bearer token/],
  ] as const)('storware takes a session sent as a %s, sends it back as %s, says which it saw, and never passes it on', async (via, header, said) => {
    const sim = new StorwareSim();
    sim.sessionVia = via;
    const api = await serve(sim.handler);
    const { peer, logs, stop } = await bridgeWith([
      { name: 'storware', mount: '/storware', baseUrl: api.url, allowedPaths: ['/api/'], auth: { type: 'storware', username: sim.username, passwordFile: secret('sw', sim.password) } },
    ]);
    const r = await peer.command('GET', '/storware/api/virtual-machines', { headers: { [header]: 'forged' } });
    expect(r.payload.responseCode).toBe(200);
    expect(String(sim.calls[0]?.headers[header])).not.toContain('forged');
    sim.expireSessions();
    expect((await peer.command('GET', '/storware/api/virtual-machines')).payload.responseCode).toBe(200);
    expect(sim.logins).toBe(2);
    await stop();
    expect(sim.logouts).toBe(1);
    expect(logs.text()).toMatch(said);
    noSecrets(logs);
  });

  it('answers 502 without secrets when the login fails, and does not log in again per request', async () => {
    const sim = new StorwareSim();
    const api = await serve(sim.handler);
    const { peer, logs } = await bridgeWith([
      { name: 'storware', mount: '/storware', baseUrl: api.url, allowedPaths: ['/api/'], auth: { type: 'storware', username: sim.username, passwordFile: secret('sw', 'Wr0ng-S3cret') } },
    ]);
    const answers = await Promise.all([1, 2, 3].map(() => peer.command('GET', '/storware/api/virtual-machines')));
    for (const a of answers) {
      expect(a.payload.responseCode).toBe(502);
      expect(body(a)).toMatchObject({ details: { code: 'NBW_ERR_BACKEND_LOGIN' } });
      expect(body(a).errorMessage).toMatch(/storware: logging in to the backend failed \(POST \/api\/session\/login answered 401\)/);
    }
    const again = await peer.command('GET', '/storware/api/virtual-machines');
    expect(again.payload.responseCode).toBe(502);
    expect(api.requests.filter((r) => r.url === '/api/session/login')).toHaveLength(1);
    expect(sim.calls).toHaveLength(0);
    for (const a of [...answers, again]) expect(JSON.stringify(a)).not.toContain('Wr0ng-S3cret');
    noSecrets(logs, 'Wr0ng-S3cret');
  });
});

describe('every session profile', () => {
  type Sim = { username: string; password: string; logins: number; calls: unknown[]; expireSessions(): void; handler: RestHandler };
  const cases: { type: string; make: () => Sim; uri: string; allowed: string; auth: (sim: Sim, pw: string, url: string) => object }[] = [
    { type: 'veeam-em', make: () => new VeeamEmSim(), uri: '/api/jobs', allowed: '/api/', auth: (sim, pw) => ({ type: 'veeam-em', username: sim.username, passwordFile: pw }) },
    { type: 'veeam-vbr', make: () => new VeeamVbrSim(), uri: '/api/v1/jobs', allowed: '/api/v1/', auth: (sim, pw) => ({ type: 'veeam-vbr', username: sim.username, passwordFile: pw }) },
    { type: 'cohesity', make: () => new CohesitySim(), uri: '/v2/data-protect/protection-groups', allowed: '/v2/', auth: (sim, pw) => ({ type: 'cohesity', username: sim.username, passwordFile: pw }) },
    { type: 'storware', make: () => new StorwareSim(), uri: '/api/virtual-machines', allowed: '/api/', auth: (sim, pw) => ({ type: 'storware', username: sim.username, passwordFile: pw }) },
    {
      type: 'ibm-iam',
      make: () => {
        const sim = new IbmCloudSim();
        return Object.assign(sim, { password: sim.apiKey });
      },
      uri: '/v2/data-protect/protection-groups',
      allowed: '/v2/',
      auth: (_sim, pw, url) => ({ type: 'ibm-iam', apiKeyFile: pw, tokenUrl: `${url}/identity/token`, tenantId: 't/' }),
    },
  ];

  it.each(cases)('$type: concurrent calls share one login, an expired session is renewed, a failed login is 502 without secrets', async ({ make, uri, allowed, auth }) => {
    const sim = make();
    const api = await serve(sim.handler);
    const { peer, logs } = await bridgeWith([
      { name: 'good', mount: '/good', baseUrl: api.url, allowedPaths: [allowed], auth: auth(sim, secret('good', sim.password), api.url) },
      { name: 'bad', mount: '/bad', baseUrl: api.url, allowedPaths: [allowed], auth: auth(sim, secret('bad', 'Wr0ng-S3cret'), api.url) },
    ]);
    const answers = await Promise.all(Array.from({ length: 5 }, () => peer.command('GET', `/good${uri}`, { headers: { Authorization: 'cloud-credential', Cookie: 'x=cloud' } })));
    for (const a of answers) expect(a.payload.responseCode).toBe(200);
    const logins = sim.logins;
    expect(logins).toBe(1);
    sim.expireSessions();
    expect((await peer.command('GET', `/good${uri}`)).payload.responseCode).toBe(200);
    expect(sim.logins).toBeGreaterThan(logins);
    const refused = await Promise.all(Array.from({ length: 3 }, () => peer.command('GET', `/bad${uri}`)));
    for (const r of refused) {
      expect(r.payload.responseCode).toBe(502);
      expect(JSON.stringify(r)).not.toContain('Wr0ng-S3cret');
    }
    noSecrets(logs, 'Wr0ng-S3cret', sim.password);
  });
});
