// Hub nodes sharing one application through a real redis-server: requests from any node reach
// every agent, a node killed mid-request loses nothing and runs nothing twice, notifications
// are handled once across workers and acknowledged only after their XACK.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import WebSocket from 'ws';
import pino from 'pino';
import { AgentOfflineError, Hub, RedisUnreachableError, type Notification } from '../../src/cloud/index.js';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { loadHubConfig } from '../../src/hub/config.js';
import { HubService } from '../../src/hub/service.js';
import { captureLog } from '../support/log.js';
import { RestServer, sendJson, type RestHandler } from '../support/fakes.js';
import { RedisServer, redisUnavailable } from '../support/redis.js';
import { rawAgent } from '../support/raw-agent.js';
import { until } from '../support/wait.js';

const TOKENS: Record<string, string> = { 'token-a': 'agent-a', 'token-b': 'agent-b' };
const authenticate = (token: string) => (TOKENS[token] ? { agentId: TOKENS[token] as string } : null);

let redis: RedisServer | null = null;
const unavailable = redisUnavailable();
beforeAll(async () => {
  if (unavailable === null) redis = await RedisServer.start();
}, 20_000);
afterAll(() => redis?.stop());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let prefixes = 0;
/** Fails in CI and skips elsewhere when redis-server is missing; else a key prefix of the test's own. */
function needRedis(ctx: TestContext): { url: string; prefix: string } {
  if (!redis) {
    if (process.env.CI) throw new Error(`the hub's scale-out tests must run in CI: ${unavailable}`);
    ctx.skip(unavailable ?? 'no redis');
  }
  return { url: (redis as RedisServer).url, prefix: `t${++prefixes}:` };
}

async function node(r: { url: string; prefix: string }, opts: Partial<Parameters<typeof Hub.listen>[0]> = {}) {
  const h = await Hub.listen({ authenticate, path: '/nbwss', heartbeatMs: 500, redis: { ...r, claimIdleMs: 300 }, ...opts });
  cleanups.push(() => h.close());
  return h;
}

async function agent(endpoints: { url: string; token: string }[], rest: RestHandler) {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-hub-redis-'));
  const file = join(dir, 'endpoints.json');
  writeFileSync(file, JSON.stringify(endpoints.map((e, priority) => ({ ...e, groupId: 'default', priority }))), { mode: 0o600 });
  const server = await new RestServer(rest).start();
  const { config } = loadConfig({ env: {}, overrides: { 'cloud.endpointsFile': file, 'rest.baseUrl': server.url, 'reconnect.minMs': '50', 'reconnect.maxMs': '200', 'shutdown.graceMs': '500' }, purpose: 'run' });
  const daemon = await Daemon.open(config, captureLog('warn').log);
  await daemon.start();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => server.stop(), () => daemon.stop('test over'));
  return daemon;
}

const agentAt = (h: Hub, token: string) => rawAgent(h.url, token, cleanups);

describe('hub nodes sharing Redis', () => {
  it('reaches every agent from every node, and lists them all with the node holding each', async (ctx) => {
    const r = needRedis(ctx);
    const [one, two] = [await node(r), await node(r)];
    await agent([{ url: one.url, token: 'token-a' }], (_req, res) => sendJson(res, 200, { from: 'a' }));
    await agent([{ url: two.url, token: 'token-b' }], (_req, res) => sendJson(res, 200, { from: 'b' }));
    await until(async () => (await one.listAgents()).length === 2);
    const listed = (await two.listAgents()).map((a) => [a.agentId, a.node]).sort();
    expect(listed).toEqual([['agent-a', one.node], ['agent-b', two.node]]);
    for (const h of [one, two]) {
      for (const [agentId, from] of [['agent-a', 'a'], ['agent-b', 'b']] as const) {
        expect((await h.request(agentId, { method: 'GET', uri: '/netbackup/ping' })).json()).toEqual({ from });
      }
    }
    // An agent that moves is reached where it is now; the node it left drops it from its list.
    expect(one.agents().map((a) => a.agentId)).toEqual(['agent-a']);
  });

  it('loses nothing and runs nothing twice when the node holding an agent is killed mid-request', async (ctx) => {
    const r = needRedis(ctx);
    const one = await node(r);
    const child = spawn(process.execPath, ['test/support/hub-node.mjs'], { env: { ...process.env, HUB_REDIS: r.url, HUB_PREFIX: r.prefix, HUB_TOKENS: JSON.stringify(TOKENS) }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const two = JSON.parse(line) as { url: string; node: string };
    let calls = 0;
    let release = () => {};
    const held = new Promise<void>((res) => (release = res));
    await agent([{ url: two.url, token: 'token-b' }, { url: one.url, token: 'token-b' }], async (_req, res) => {
      calls++;
      await held;
      sendJson(res, 201, { created: true });
    });
    await until(async () => (await one.listAgents()).some((a) => a.agentId === 'agent-b' && a.node === two.node), 5000);
    const answer = one.request('agent-b', { method: 'POST', uri: '/netbackup/config/policies', body: { policyName: 'p' }, id: 'POLICY-1' });
    await until(() => calls === 1, 5000);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await until(() => one.agents().some((a) => a.agentId === 'agent-b'), 10_000); // the agent fails over to the node left
    release();
    const res = await answer;
    expect(res.status).toBe(201);
    expect(calls).toBe(1);
    expect((await one.listAgents()).map((a) => [a.agentId, a.node])).toEqual([['agent-b', one.node]]);
  });

  it('hands each notification to exactly one worker, across nodes, and acknowledges it after that worker is done', async (ctx) => {
    const r = needRedis(ctx);
    const [one, two] = [await node(r), await node(r)];
    const handled: [string, string][] = [];
    let failedOnce = false;
    const worker = async (n: Notification) => {
      if (n.id === 'N-FAIL' && !failedOnce) {
        failedOnce = true;
        throw new Error('database down'); // left pending: a worker claims it after claimIdleMs
      }
      handled.push([n.agentId, n.id]);
    };
    one.on('notification', worker);
    two.on('notification', worker);
    const a = await agentAt(one, 'token-a');
    const b = await agentAt(two, 'token-b');
    const ids = Array.from({ length: 20 }, (_, i) => `N${i}`);
    for (const id of ids) {
      a.note(id);
      b.note(id);
    }
    await until(() => a.acked().length >= 20 && b.acked().length >= 20, 10_000);
    expect(handled).toHaveLength(40);
    expect(new Set(handled.map((h) => h.join('/'))).size).toBe(40);
    // A resend whose acknowledgement was lost: acknowledged again, handled by no one.
    a.note('N3');
    await until(() => a.acked().filter((id) => id === 'N3').length === 2);
    expect(handled).toHaveLength(40);
    // One a worker failed: claimed by a worker after claimIdleMs, handled once, then acknowledged.
    b.note('N-FAIL');
    await until(() => b.acked().includes('N-FAIL'), 10_000);
    expect(failedOnce).toBe(true);
    expect(handled.filter(([, id]) => id === 'N-FAIL')).toEqual([['agent-b', 'N-FAIL']]);
  });

  it('keeps a notification a worker is still handling from the others, and reaches past entries that keep failing', async (ctx) => {
    const r = needRedis(ctx);
    const [one, two] = [await node(r), await node(r)]; // claimIdleMs 300
    const calls: string[] = [];
    let xFailed = false;
    const worker = (name: string) => async (n: Notification) => {
      if (n.id.startsWith('F')) throw new Error('always fails');
      if (n.id === 'X' && !xFailed) {
        xFailed = true;
        throw new Error('fails once');
      }
      calls.push(`${name}:${n.id}`);
      if (n.id === 'SLOW') await new Promise((res) => setTimeout(res, 1500)); // five times claimIdleMs
    };
    one.on('notification', worker('one'));
    two.on('notification', worker('two'));
    const a = await agentAt(one, 'token-a');
    a.note('SLOW');
    await until(() => a.acked().includes('SLOW'), 10_000);
    expect(calls.filter((c) => c.endsWith(':SLOW'))).toHaveLength(1);
    for (let i = 0; i < 70; i++) a.note(`F${i}`);
    a.note('X');
    await until(() => a.acked().includes('X'), 15_000);
    expect(calls.filter((c) => c.endsWith(':X'))).toHaveLength(1);
  });

  it('answers the service\'s API 503 while Redis is away', async (ctx) => {
    needRedis(ctx);
    const own = await RedisServer.start();
    cleanups.push(() => own.stop());
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-hub-svc-down-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'key'), 'k'.repeat(40));
    const { config } = loadHubConfig({ env: {}, overrides: { listen: '127.0.0.1:0', 'api.listen': '127.0.0.1:0', redis: own.url, 'api.keyFile': join(dir, 'key') } });
    const svc = await HubService.start(config, captureLog('silent').log);
    cleanups.push(() => svc.stop());
    await own.stop();
    const call = (path: string, init: RequestInit = {}) => fetch(`${svc.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${'k'.repeat(40)}` } });
    for (const [path, init] of [['/agents', {}], ['/agents', { method: 'POST', body: '{"agentId":"p9"}' }], ['/agents/p9', { method: 'DELETE' }]] as const) {
      const res = await call(path, init);
      expect([path, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([path, 503, 'HUB_REDIS_UNREACHABLE']);
    }
    expect((await fetch(`${svc.apiUrl}/healthz`)).status).toBe(200);
  });

  it('keeps a notification on the stream until a worker is up, then acknowledges it through the node holding its agent', async (ctx) => {
    const r = needRedis(ctx);
    const holder = await node(r); // no handlers: takes nothing off the stream
    const a = await agentAt(holder, 'token-a');
    a.note('N-LATE');
    await new Promise((res) => setTimeout(res, 300));
    expect(a.acked()).toEqual([]);
    const worker = await node(r);
    const seen: string[] = [];
    worker.on('notification', (n: Notification) => void seen.push(n.id));
    await until(() => a.acked().includes('N-LATE'), 10_000);
    expect(seen).toEqual(['N-LATE']);
  });

  it('closes the older connection of an agent that connects to another node', async (ctx) => {
    const r = needRedis(ctx);
    const [one, two] = [await node(r), await node(r)];
    const first = await agentAt(one, 'token-a');
    const offline: string[] = [];
    one.on('agent-offline', (e: { reason: string }) => offline.push(e.reason));
    await agentAt(two, 'token-a');
    await until(() => first.ws.readyState === WebSocket.CLOSED);
    expect(offline).toEqual(['replaced by a connection at another hub node']);
    expect((await one.listAgents()).map((x) => x.node)).toEqual([two.node]);
  });

  it('keeps serving the agents connected to it while Redis is down, says so in its log, and shares them again once it is back', async (ctx) => {
    needRedis(ctx);
    let own = await RedisServer.start();
    cleanups.push(() => own.stop());
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const h = await node({ url: own.url, prefix: 'down:' }, { logger, heartbeatMs: 100, requestTimeoutMs: 1500 });
    h.on('notification', () => {});
    const a = await agentAt(h, 'token-a');
    await own.stop();
    const local = h.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R1' });
    await until(() => a.inbox.some((m) => m.id === 'R1'));
    a.ws.send(JSON.stringify({ version: '1.0', id: 'R1', type: 'COMMAND', subType: 'RESPONSE', timeStamp: 1, payload: { headers: {}, responseCode: 200, body: '{}' } }));
    expect((await local).status).toBe(200);
    await expect(h.request('agent-b', { method: 'GET', uri: '/netbackup/ping' })).rejects.toBeInstanceOf(AgentOfflineError);
    a.note('N-DOWN'); // not on the stream: not acknowledged, so the agent sends it again later
    await until(() => lines.some((l) => l.msg === 'could not put a notification on the stream; the agent sends it again'), 10_000);
    const said = lines.map((l) => String(l.msg));
    expect(said).toEqual(expect.arrayContaining(["redis: could not renew the agents' presence", 'redis: could not route a request through another hub node; it is sent when the agent comes online', 'could not put a notification on the stream; the agent sends it again']));
    expect(a.acked()).toEqual([]);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    // Redis is back, empty: the agent is put back and announced, the notification sent again is handled.
    own = await RedisServer.start(own.port);
    const other = await node({ url: own.url, prefix: 'down:' });
    await until(async () => (await other.listAgents()).some((x) => x.agentId === 'agent-a' && x.node === h.node), 10_000);
    const through = other.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R2' });
    await until(() => a.inbox.some((m) => m.id === 'R2'));
    a.ws.send(JSON.stringify({ version: '1.0', id: 'R2', type: 'COMMAND', subType: 'RESPONSE', timeStamp: 1, payload: { headers: {}, responseCode: 200, body: '{}' } }));
    expect((await through).status).toBe(200);
    a.note('N-DOWN');
    await until(() => a.acked().includes('N-DOWN'), 10_000);
  });

  it('runs the hub service on two nodes: tokens issued on one work on the other, requests, notifications and revocation reach across', async (ctx) => {
    const r = needRedis(ctx);
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-hub-svc-redis-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const KEY = 'k'.repeat(40);
    writeFileSync(join(dir, 'key'), KEY);
    const start = async () => {
      const { config } = loadHubConfig({ env: {}, overrides: { listen: '127.0.0.1:0', 'api.listen': '127.0.0.1:0', redis: r.url, 'api.keyFile': join(dir, 'key'), heartbeatMs: '500' } });
      const svc = await HubService.start(config, captureLog('warn').log);
      cleanups.push(() => svc.stop());
      return svc;
    };
    const [a, b] = [await start(), await start()];
    const api = (svc: HubService, path: string, init: RequestInit = {}) => fetch(`${svc.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}` } });
    const details = (await (await api(a, '/agents', { method: 'POST', body: JSON.stringify({ agentId: 'p1' }) })).json()) as { token: string };
    const connectTo = async (svc: HubService) => {
      const ws = new WebSocket(svc.hub.url);
      cleanups.push(() => ws.terminate());
      const inbox: Record<string, unknown>[] = [];
      ws.on('message', (d) => inbox.push(JSON.parse(String(d)) as Record<string, unknown>));
      await once(ws, 'open');
      ws.send(JSON.stringify({ version: '1.0', id: 'C1', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload: { token: details.token } }));
      await until(() => inbox.length > 0);
      return { ws, inbox, valid: (inbox[0]?.payload as { valid: boolean }).valid };
    };
    const agent = await connectTo(b);
    expect(agent.valid).toBe(true);
    await until(async () => JSON.stringify(await (await api(a, '/agents')).json()).includes(b.hub.node));
    // A request made on a, answered by the agent on b.
    agent.ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id: string; type: string };
      if (m.type === 'COMMAND') agent.ws.send(JSON.stringify({ version: '1.0', id: m.id, type: 'COMMAND', subType: 'RESPONSE', timeStamp: 1, payload: { headers: {}, responseCode: 200, body: '{"via":"b"}' } }));
    });
    const res = await api(a, '/agents/p1/requests', { method: 'POST', body: JSON.stringify({ method: 'GET', uri: '/netbackup/ping' }) });
    expect([res.status, ((await res.json()) as { body: string }).body]).toEqual([200, '{"via":"b"}']);
    // A notification of the agent on b, read on a's event stream (b has none: it leaves the stream to a), acknowledged after a's ack.
    const stream = await api(a, '/agents/p1/notifications');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    cleanups.push(() => reader.cancel().catch(() => {}));
    agent.ws.send(JSON.stringify({ version: '1.0', id: 'N1', type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1, payload: [] }));
    let text = '';
    while (!/^id: /m.test(text)) text += Buffer.from((await reader.read()).value as Uint8Array).toString();
    const delivery = /^id: (.*)$/m.exec(text)?.[1] as string;
    expect(agent.inbox.some((m) => m.type === 'NOTIFICATION')).toBe(false);
    expect((await api(a, `/notifications/${delivery}/ack`, { method: 'POST' })).status).toBe(204);
    await until(() => agent.inbox.some((m) => m.type === 'NOTIFICATION' && m.id === 'N1'));
    // Revoked on a: the agent's connection on b is closed, and its token refused everywhere.
    expect((await api(a, '/agents/p1', { method: 'DELETE' })).status).toBe(204);
    await until(() => agent.ws.readyState === WebSocket.CLOSED);
    expect((await connectTo(b)).valid).toBe(false);
    expect((await connectTo(a)).valid).toBe(false);
  });

  it('fails to start, naming the reason, when Redis cannot be reached', async () => {
    const err = await Hub.listen({ authenticate, redis: 'redis://user:s3cret@127.0.0.1:1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect((err as Error).message).toMatch(/^cannot reach Redis at redis:\/\/127.0.0.1:1: .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain('s3cret');
  });
});
