// The hub (nbwss-bridge/cloud) with real bridge daemons dialling it: requests by agent, the
// CONNECT token check, errors the bridge answers itself, resends after a dropped connection
// (running once), the in-flight bound, and notifications acknowledged once handled.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AgentOfflineError, BridgeAnswerError, Hub, HubClosedError, InFlightFullError, MemoryTokenStore, type Notification } from '../../src/cloud/index.js';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { captureLog } from '../support/log.js';
import { RestServer, sendJson, type RestHandler } from '../support/fakes.js';
import { rawAgent as dialRaw } from '../support/raw-agent.js';
import { until } from '../support/wait.js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_CA } from '../support/tls.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOKENS: Record<string, string> = { 'token-a': 'agent-a', 'token-b': 'agent-b' };
const authenticate = (token: string) => (TOKENS[token] ? { agentId: TOKENS[token] as string, labels: { site: 'lab' } } : null);

async function hub(opts: Partial<Parameters<typeof Hub.listen>[0]> = {}) {
  const h = await Hub.listen({ authenticate, path: '/nbwss', ...opts });
  cleanups.push(() => h.close());
  return h;
}

async function agent(h: Hub, token: string, rest: RestHandler, level = 'warn') {
  const server = await new RestServer(rest).start();
  const { config } = loadConfig({
    env: {},
    overrides: { 'cloud.url': h.url, 'cloud.token': token, 'rest.baseUrl': server.url, 'reconnect.minMs': '50', 'reconnect.maxMs': '100', 'shutdown.graceMs': '500' },
    purpose: 'run',
  });
  const logs = captureLog(level);
  const daemon = await Daemon.open(config, logs.log);
  await daemon.start();
  cleanups.push(() => server.stop(), () => daemon.stop('test over'));
  return { daemon, server, logs };
}

const jobs: RestHandler = (req, res) => sendJson(res, 200, { data: [{ id: '4711' }], path: req.url, auth: req.headers.authorization ?? null });

describe('hub', () => {
  it('reaches each agent by its id and returns the answer of its REST API', async () => {
    const h = await hub();
    const online: string[] = [];
    h.on('agent-online', (a: { agentId: string }) => online.push(a.agentId));
    await agent(h, 'token-a', jobs);
    await agent(h, 'token-b', (_req, res) => sendJson(res, 200, { from: 'b' }));
    await until(() => h.agents().length === 2);
    expect(h.agents().map((a) => [a.agentId, a.labels.site]).sort()).toEqual([['agent-a', 'lab'], ['agent-b', 'lab']]);
    expect(h.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/nbwss$/);
    const a = await h.request('agent-a', { method: 'GET', uri: '/netbackup/admin/jobs?page[limit]=1', headers: { Authorization: 'jwt-a' } });
    expect(a.status).toBe(200);
    expect(a.json()).toEqual({ data: [{ id: '4711' }], path: '/netbackup/admin/jobs?page%5Blimit%5D=1', auth: 'jwt-a' });
    expect((await h.request('agent-b', { method: 'GET', uri: '/netbackup/ping' })).json()).toEqual({ from: 'b' });
    expect(online.sort()).toEqual(['agent-a', 'agent-b']);
  });

  it('refuses a CONNECT whose token it does not know: the agent is not listed and is told valid:false', async () => {
    const h = await hub();
    const { logs } = await agent(h, 'wrong-token', jobs, 'info');
    await until(() => logs.lines().some((l) => l.reason === 'NBW_ERR_CONNECT_REFUSED'));
    expect(h.agents()).toEqual([]);
    expect(JSON.stringify(logs.lines())).not.toContain('wrong-token');
  });

  it('rejects with typed errors: the bridge\'s own answers, an agent that never comes, a full in-flight bound, a closed hub', async () => {
    const h = await hub({ maxInFlightPerAgent: 1 });
    await agent(h, 'token-a', jobs);
    await until(() => h.agents().length === 1);
    const refused = await h.request('agent-a', { method: 'GET', uri: '/etc/passwd' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BridgeAnswerError);
    expect(refused).toMatchObject({ code: 'HUB_BRIDGE_ERROR', status: 403, errorCode: 403, bridgeCode: 'NBW_ERR_POLICY_URI' });
    const offline = await h.request('agent-z', { method: 'GET', uri: '/netbackup/ping', timeoutMs: 100 }).catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(AgentOfflineError);
    const first = h.request('agent-a', { method: 'GET', uri: '/netbackup/ping' });
    await expect(h.request('agent-a', { method: 'GET', uri: '/netbackup/ping' })).rejects.toBeInstanceOf(InFlightFullError);
    expect((await first).status).toBe(200);
    const late = h.request('agent-z', { method: 'GET', uri: '/netbackup/ping' }).catch((e: unknown) => e);
    await h.close();
    expect(await late).toBeInstanceOf(HubClosedError);
    await expect(h.request('agent-a', { method: 'GET', uri: '/netbackup/ping' })).rejects.toBeInstanceOf(HubClosedError);
  });

  it('sends a request again under the same id when its agent drops mid-call: it runs once and is answered', async () => {
    const h = await hub();
    let calls = 0;
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    await agent(h, 'token-a', async (_req, res) => {
      calls++;
      await held;
      sendJson(res, 201, { created: true });
    });
    await until(() => h.agents().length === 1);
    const offline: string[] = [];
    h.on('agent-offline', (a: { reason: string }) => offline.push(a.reason));
    const answer = h.request('agent-a', { method: 'POST', uri: '/netbackup/config/policies', body: { policyName: 'p' }, id: 'POLICY-1' });
    const again = h.request('agent-a', { method: 'POST', uri: '/netbackup/config/policies', body: { policyName: 'p' }, id: 'POLICY-1' });
    await until(() => calls === 1);
    expect(h.disconnect('agent-a')).toBe(true); // as a broken connection: no close handshake
    await until(() => offline.length === 1 && h.agents().length === 1, 5000);
    release();
    const res = await answer;
    expect(res.status).toBe(201);
    expect((await again).id).toBe('POLICY-1'); // the same id waits for the same answer
    expect(calls).toBe(1);
  });
});

describe('hub notifications', () => {
  const rawAgent = (h: Hub) => dialRaw(h.url, 'token-a', cleanups);


  it('acknowledges a notification only once its handler resolved, and hands a resend of a handled id to no one', async () => {
    const h = await hub();
    const seen: Notification[] = [];
    let finish = () => {};
    h.on('notification', async (n: Notification) => {
      seen.push(n);
      await new Promise<void>((r) => (finish = r));
    });
    const { ws, inbox } = await rawAgent(h);
    const note = { version: '1.0', id: 'N1', type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1, payload: [{ notificationType: 'UPDATE', object: 'JOB', data: [{ jobId: 4711 }] }] };
    ws.send(JSON.stringify(note));
    await until(() => seen.length === 1);
    expect(inbox.filter((m) => m.type === 'NOTIFICATION')).toEqual([]);
    finish();
    await until(() => inbox.some((m) => m.type === 'NOTIFICATION' && m.id === 'N1'));
    expect(seen[0]).toMatchObject({ agentId: 'agent-a', id: 'N1', notifications: [{ object: 'JOB', data: [{ jobId: 4711 }] }] });
    ws.send(JSON.stringify(note));
    await until(() => inbox.filter((m) => m.type === 'NOTIFICATION' && m.id === 'N1').length === 2);
    expect(seen).toHaveLength(1);
  });

  it('takes whatever an agent sends without throwing: junk, a second CONNECT, answers of odd shapes or for ids it was not sent', async () => {
    const h = await hub();
    const { ws, inbox } = await rawAgent(h);
    const first = h.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R1' });
    await until(() => inbox.some((m) => m.id === 'R1'));
    ws.send(Buffer.from([0, 1, 2]), { binary: true });
    for (const junk of ['not json', 'null', '[]', '{"id":7}', JSON.stringify({ version: '1.0', id: 'C2', type: 'CONNECT', subType: 'REQUEST', payload: { token: 'token-b' } })]) ws.send(junk);
    ws.send(JSON.stringify({ id: 'R1', type: 'COMMAND', subType: 'RESPONSE', payload: null }));
    ws.send(JSON.stringify({ id: 'NOT-SENT', type: 'COMMAND', subType: 'RESPONSE', payload: { responseCode: 200 } }));
    ws.send(JSON.stringify({ id: 'R1', type: 'COMMAND', subType: 'RESPONSE', payload: { headers: null, responseCode: '200', body: 5 } }));
    expect(await first).toMatchObject({ id: 'R1', status: 0, headers: {}, body: '' });
    expect(h.agents().map((a) => a.agentId)).toEqual(['agent-a']);
    const second = h.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R2' });
    await until(() => inbox.some((m) => m.id === 'R2'));
    ws.send(JSON.stringify({ id: 'R2', type: 'COMMAND', subType: 'RESPONSE', payload: { headers: { 'content-type': 'application/octet-stream', n: 1 }, responseCode: 200, body: Buffer.from([1, 2]).toString('base64'), bodyEncoding: 'base64' } }));
    const res = await second;
    expect(res.headers).toEqual({ 'content-type': 'application/octet-stream' });
    expect(Buffer.isBuffer(res.body) && [...res.body]).toEqual([1, 2]);
    expect(h.agents()[0]?.inFlight).toBe(0);
  });

  it('hands notifications to a for-await loop, each acknowledged once the loop body that took it has finished', async () => {
    const h = await hub();
    const { ws, inbox } = await rawAgent(h);
    const acked = () => inbox.filter((m) => m.type === 'NOTIFICATION').map((m) => m.id);
    const note = (id: string) => JSON.stringify({ version: '1.0', id, type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1, payload: [{ notificationType: 'CREATE', object: 'JOB', data: [{ jobId: 1 }] }] });
    ws.send(note('N1'));
    ws.send(note('N2'));
    const taken: string[] = [];
    let ackedInsideFirst: unknown[] = [];
    for await (const n of h.notifications()) {
      taken.push(n.id);
      if (n.id === 'N1') {
        await new Promise((r) => setTimeout(r, 50));
        ackedInsideFirst = acked();
        continue;
      }
      await until(() => acked().includes('N1')); // N1's body finished when N2 was asked for
      break; // leaving inside N2's body: N2 is not acknowledged
    }
    expect(taken).toEqual(['N1', 'N2']);
    expect(ackedInsideFirst).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(acked()).toEqual(['N1']);
    // The loop is gone: a notification now reaches no handler, and is acknowledged as handled by none.
    ws.send(note('N3'));
    await until(() => acked().includes('N3'));
  });

  it('leaves a notification whose handler failed unacknowledged, so that the agent sends it again', async () => {
    const h = await hub();
    const errors: unknown[] = [];
    h.on('notification-error', (e: unknown) => errors.push(e));
    h.on('notification', () => Promise.reject(new Error('database down')));
    const { ws, inbox } = await rawAgent(h);
    ws.send(JSON.stringify({ version: '1.0', id: 'N2', type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1, payload: [] }));
    await until(() => errors.length === 1);
    expect(inbox.filter((m) => m.type === 'NOTIFICATION')).toEqual([]);
  });
});

describe('hub.netbackup', () => {
  it('logs in once, puts the token and the versioned media type on each call, and logs in again when the token is refused', async () => {
    const h = await hub();
    const logins: unknown[] = [];
    let valid = 'T1';
    const seen: (string | undefined)[] = [];
    await agent(h, 'token-a', async (req, res) => {
      if (req.url === '/netbackup/login') {
        logins.push(JSON.parse(req.text));
        return sendJson(res, 201, { token: valid });
      }
      seen.push(req.headers['content-type']);
      if (req.headers.authorization !== valid) return sendJson(res, 401, { errorCode: 8000, errorMessage: 'token expired' });
      return sendJson(res, 200, { data: [] });
    });
    await until(() => h.agents().length === 1);
    const nb = h.netbackup('agent-a', { userName: 'cloud', password: 'secret-pw', domainType: 'unixpwd' }, { version: '10.0' });
    const [a, b] = await Promise.all([nb.request('GET', '/netbackup/admin/jobs'), nb.request('GET', '/netbackup/admin/jobs')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(logins).toEqual([{ userName: 'cloud', password: 'secret-pw', domainType: 'unixpwd' }]);
    valid = 'T2'; // the server forgets T1
    const c = await nb.request('GET', '/netbackup/admin/jobs', undefined, { id: 'JOBS-1' });
    expect(c.status).toBe(200);
    expect(c.id).toBe('JOBS-1.relogin');
    expect(logins).toHaveLength(2);
    expect(new Set(seen)).toEqual(new Set(['application/vnd.netbackup+json;version=10.0']));
  });

  it('sends an API key as it is, with no login, and gives a refusal back as it came', async () => {
    const h = await hub();
    await agent(h, 'token-a', (req, res) => sendJson(res, req.headers.authorization === 'KEY' ? 200 : 401, { auth: req.headers.authorization ?? null }));
    await until(() => h.agents().length === 1);
    expect((await h.netbackup('agent-a', { apiKey: 'KEY' }).request('GET', '/netbackup/ping')).json()).toEqual({ auth: 'KEY' });
    expect((await h.netbackup('agent-a', { apiKey: 'OTHER' }).request('GET', '/netbackup/ping')).status).toBe(401);
  });

  it('fails the calls waiting for a login that failed, and tries again on the next call', async () => {
    const h = await hub();
    let attempts = 0;
    await agent(h, 'token-a', (req, res) => (req.url === '/netbackup/login' ? sendJson(res, ++attempts === 1 ? 401 : 201, { token: 'T' }) : sendJson(res, 200, {})));
    await until(() => h.agents().length === 1);
    const nb = h.netbackup('agent-a', { userName: 'u', password: 'p' });
    await expect(nb.request('GET', '/netbackup/ping')).rejects.toThrow(/NetBackup login failed: 401/);
    expect((await nb.request('GET', '/netbackup/ping')).status).toBe(200);
  });
});

describe('hub tokens', () => {
  it('issues an agent its endpoint details; a bridge given them as its endpoints file connects; revoking drops it and refuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-hub-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const h = await hub({ authenticate: undefined, tokens: join(dir, 'tokens.json') });
    const details = await h.issueAgent({ agentId: 'primary-1', group: 'eu', priority: 1 });
    expect(details).toMatchObject({ url: h.url, groupId: 'eu', priority: 1, hostName: '127.0.0.1' });
    expect(Buffer.from(details.token.split('.')[1] as string, 'base64url')).toHaveLength(32);
    const stored = readFileSync(join(dir, 'tokens.json'), 'utf8');
    expect(stored).not.toContain(details.token.split('.')[1]);
    expect(statSync(join(dir, 'tokens.json')).mode & 0o777).toBe(0o600);
    const file = join(dir, 'endpoints.json');
    writeFileSync(file, JSON.stringify([details]), { mode: 0o600 });
    const server = await new RestServer(jobs).start();
    const { config } = loadConfig({ env: {}, overrides: { 'cloud.endpointsFile': file, 'rest.baseUrl': server.url, 'reconnect.minMs': '50', 'reconnect.maxMs': '100' }, purpose: 'run' });
    const logs = captureLog('info');
    const daemon = await Daemon.open(config, logs.log);
    await daemon.start();
    cleanups.push(() => server.stop(), () => daemon.stop('test over'));
    await until(() => h.agents().length === 1);
    expect(h.agents()[0]?.agentId).toBe('primary-1');
    expect((await h.request('primary-1', { method: 'GET', uri: '/netbackup/ping' })).status).toBe(200);
    // A second hub on the same file knows the token (it is stored, hashed).
    const other = await hub({ authenticate: undefined, tokens: join(dir, 'tokens.json') });
    const ws = new WebSocket(other.url);
    await once(ws, 'open');
    ws.send(JSON.stringify({ version: '1.0', id: 'C', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload: { token: details.token } }));
    expect(JSON.parse(String(((await once(ws, 'message')) as [Buffer])[0])).payload).toEqual({ valid: true });
    ws.terminate();
    expect(await h.revokeAgent('primary-1')).toBe(true);
    await until(() => logs.lines().some((l) => l.reason === 'NBW_ERR_CONNECT_REFUSED'));
    expect(h.agents()).toEqual([]);
    expect(await h.revokeAgent('primary-1')).toBe(false);
    expect(JSON.stringify(logs.lines())).not.toContain(details.token);
  });

  it('refuses tokens that are malformed, of another agent, or forged', async () => {
    const h = await hub({ authenticate: undefined, tokens: new MemoryTokenStore() });
    const a = await h.issueAgent({ agentId: 'a' });
    await h.issueAgent({ agentId: 'b' });
    const forged = `${Buffer.from('b').toString('base64url')}.${a.token.split('.')[1]}`;
    for (const token of ['', 'no-dot', '.x', `${Buffer.from('a').toString('base64url')}.short`, forged, `${Buffer.from('zz').toString('base64url')}.${a.token.split('.')[1]}`, 'x'.repeat(5000)]) {
      const ws = new WebSocket(h.url);
      await once(ws, 'open');
      ws.send(JSON.stringify({ version: '1.0', id: 'C', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload: { token } }));
      expect(JSON.parse(String(((await once(ws, 'message')) as [Buffer])[0])).payload).toEqual({ valid: false });
      ws.terminate();
    }
    expect(() => Hub.attach({ server: createServer(), authenticate: undefined })).toThrow(/needs authenticate, tokens or redis/);
    const plain = await hub();
    await expect(plain.issueAgent({ agentId: 'x' })).rejects.toThrow(/no token store/);
  });
});

describe('hub endpoint', () => {
  it('serves wss:// with the certificate it is given; a bridge that trusts its CA connects', async () => {
    const tls = { cert: readFileSync(new URL('../support/tls/server.pem', import.meta.url)), key: readFileSync(new URL('../support/tls/server.key', import.meta.url)) };
    const h = await hub({ tls });
    expect(h.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/nbwss$/);
    const ws = new WebSocket(h.url, { ca: TEST_CA });
    await once(ws, 'open');
    ws.send(JSON.stringify({ version: '1.0', id: 'C1', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload: { token: 'token-b' } }));
    const [answer] = (await once(ws, 'message')) as [Buffer];
    expect(JSON.parse(String(answer))).toMatchObject({ id: 'C1', type: 'CONNECT', subType: 'RESPONSE', payload: { valid: true } });
    ws.terminate();
  });

  it('answers 426 to plain HTTP, refuses a CONNECT when authenticate throws or no token is given, and drops a connection that never sends one', async () => {
    const h = await hub({ connectTimeoutMs: 200, authenticate: (t) => { if (t === 'boom') throw new Error('store down'); return authenticate(t); } });
    expect((await fetch(h.url.replace('ws:', 'http:'))).status).toBe(426);
    for (const payload of [{ token: 'boom' }, {}, null]) {
      const ws = new WebSocket(h.url);
      await once(ws, 'open');
      ws.send(JSON.stringify({ version: '1.0', id: 'C', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload }));
      const [answer] = (await once(ws, 'message')) as [Buffer];
      expect(JSON.parse(String(answer)).payload).toEqual({ valid: false });
      ws.terminate();
    }
    const silent = new WebSocket(h.url);
    const [code] = (await once(silent, 'close')) as [number];
    expect(code).toBe(1006);
    expect(h.agents()).toEqual([]);
  });
});

describe('hub on a server of the application', () => {
  it('takes upgrades to its path and leaves the server\'s own requests and other paths alone', async () => {
    const server = createServer((_req, res) => res.end('app'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const h = Hub.attach({ server, path: '/agents', authenticate });
    cleanups.push(() => h.close());
    const port = (server.address() as AddressInfo).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('app');
    await agent(h, 'token-a', jobs);
    await until(() => h.agents().length === 1);
    expect((await h.request('agent-a', { method: 'GET', uri: '/netbackup/ping' })).status).toBe(200);
  });
});
