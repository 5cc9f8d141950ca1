// The hub's connections: heartbeats that drop a silent agent, the bound on connections that
// have not proven themselves, a newer connection of an agent replacing the older once the
// older's answers are in, and what the hub logs and counts.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Hub } from '../../src/cloud/index.js';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { captureLog } from '../support/log.js';
import { RestServer, sendJson } from '../support/fakes.js';
import { rawAgent } from '../support/raw-agent.js';
import { until } from '../support/wait.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const authenticate = (token: string) => (token === 'token-a' ? { agentId: 'agent-a' } : null);

async function hub(opts: Partial<Parameters<typeof Hub.listen>[0]> = {}) {
  const h = await Hub.listen({ authenticate, ...opts });
  cleanups.push(() => h.close());
  return h;
}

const raw = (h: Hub, token: string | null, opts?: WebSocket.ClientOptions) => rawAgent(h.url, token, cleanups, opts);

describe('hub connections', () => {
  it('drops an agent that stops answering heartbeats, and keeps one that answers', async () => {
    const h = await hub({ heartbeatMs: 100 });
    const offline: string[] = [];
    h.on('agent-offline', (e: { reason: string }) => offline.push(e.reason));
    const deaf = await raw(h, 'token-a', { autoPong: false });
    await until(() => deaf.ws.readyState === WebSocket.CLOSED, 2000);
    expect(offline).toEqual(['no answer to a heartbeat']);
    const alive = await raw(h, 'token-a');
    await new Promise((r) => setTimeout(r, 500));
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(h.agents()).toHaveLength(1);
  });

  it('answers 503 to upgrades past maxUnauthenticated, until a waiting connection proves itself', async () => {
    const registry = new Registry();
    const h = await hub({ maxUnauthenticated: 2, metrics: registry });
    const waiting = [await raw(h, null), await raw(h, null)];
    const refused = new WebSocket(h.url);
    refused.on('error', () => {});
    const [, res] = (await once(refused, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    refused.terminate();
    waiting[0]?.ws.send(JSON.stringify({ version: '1.0', id: 'C1', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload: { token: 'token-a' } }));
    await until(() => h.agents().length === 1);
    await raw(h, 'token-a'); // room again
    expect(await registry.getSingleMetricAsString('nbwss_hub_connects_total')).toMatch(/outcome="bound"} 1/);
  });

  it('lets a replaced connection deliver its answers before closing it, and sends what it carried on the newer too', async () => {
    const h = await hub({ heartbeatMs: 60_000 });
    const offline: unknown[] = [];
    h.on('agent-offline', (e: unknown) => offline.push(e));
    const older = await raw(h, 'token-a');
    const pending = h.request('agent-a', { method: 'GET', uri: '/netbackup/admin/jobs', id: 'R1' });
    await until(() => older.inbox.some((m) => m.id === 'R1'));
    const newer = await raw(h, 'token-a');
    await until(() => newer.inbox.some((m) => m.id === 'R1')); // the same id again: run at most once by the agent
    expect(older.ws.readyState).toBe(WebSocket.OPEN);
    older.answer('R1', 201);
    expect((await pending).status).toBe(201);
    const [code, reason] = (await once(older.ws, 'close')) as [number, Buffer];
    expect([code, String(reason)]).toEqual([1000, 'replaced by a newer connection of the same agent']);
    expect(offline).toEqual([]); // the agent never went offline
    expect(h.agents()).toHaveLength(1);
    const next = h.request('agent-a', { method: 'GET', uri: '/x', id: 'R2' });
    await until(() => newer.inbox.some((m) => m.id === 'R2'));
    newer.answer('R2');
    expect((await next).status).toBe(200);
  });

  it('closes a replaced connection whose answers do not come within a heartbeat', async () => {
    const h = await hub({ heartbeatMs: 200 });
    const older = await raw(h, 'token-a');
    void h.request('agent-a', { method: 'GET', uri: '/x', id: 'R1', timeoutMs: 5000 }).catch(() => {});
    await until(() => older.inbox.some((m) => m.id === 'R1'));
    const newer = await raw(h, 'token-a');
    await once(older.ws, 'close');
    newer.answer('R1');
    expect(newer.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('gives a repeat the answer its agent sent before the repeat came (the agent would not answer it again)', async () => {
    const h = await hub();
    const a = await raw(h, 'token-a');
    a.answer('LATE', 201); // as an agent back from a lost connection sends what it could not deliver
    await new Promise((r) => setTimeout(r, 50));
    expect((await h.request('agent-a', { method: 'GET', uri: '/x', id: 'LATE' })).status).toBe(201);
    expect(a.inbox.some((m) => m.id === 'LATE')).toBe(false);
  });

  it('answers at once a request asked again after the hub restarted mid-call, and the call runs once', async () => {
    let calls = 0;
    const rest = await new RestServer(async (_req, res) => {
      calls++;
      await new Promise((r) => setTimeout(r, 600));
      sendJson(res, 200, { done: true });
    }).start();
    cleanups.push(() => rest.stop());
    const first = await Hub.listen({ authenticate });
    const port = Number(new URL(first.url).port);
    const { config } = loadConfig({ env: {}, overrides: { 'cloud.url': first.url, 'cloud.token': 'token-a', 'rest.baseUrl': rest.url, 'reconnect.minMs': '50', 'reconnect.maxMs': '100', 'shutdown.graceMs': '500' }, purpose: 'run' });
    const daemon = await Daemon.open(config, captureLog('warn').log);
    await daemon.start();
    cleanups.push(() => daemon.stop('test over'));
    await until(() => first.agents().length === 1);
    void first.request('agent-a', { method: 'GET', uri: '/netbackup/admin/jobs', id: 'SLOW-2' }).catch(() => {});
    await until(() => calls === 1);
    await first.close();
    const second = await hub({ port });
    await until(() => second.agents().length === 1, 5000);
    await new Promise((r) => setTimeout(r, 800)); // the call finished meanwhile; its answer went to the new connection
    const res = await second.request('agent-a', { method: 'GET', uri: '/netbackup/admin/jobs', id: 'SLOW-2', timeoutMs: 5000 });
    expect([res.status, calls]).toEqual([200, 1]);
  });

  it('bounds the requests waiting in all, whichever agents they are for', async () => {
    const h = await hub({ maxInFlight: 2, requestTimeoutMs: 5000 });
    const waiting = ['x', 'y'].map((a) => h.request(`agent-${a}`, { method: 'GET', uri: '/netbackup/ping' }).catch((e: Error) => e));
    const full = await h.request('agent-z', { method: 'GET', uri: '/netbackup/ping' }).catch((e: unknown) => e);
    expect(full).toMatchObject({ code: 'HUB_IN_FLIGHT_FULL', bound: 'maxInFlight', message: expect.stringMatching(/2 requests in flight \(maxInFlight\)/) });
    await h.close();
    expect((await Promise.all(waiting)).map((e) => (e as unknown as { code: string }).code)).toEqual(['HUB_CLOSED', 'HUB_CLOSED']);
  });

  it('logs agents coming and going and refused CONNECTs, never a token, and counts requests by outcome', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const registry = new Registry();
    const h = await hub({ logger, metrics: registry, requestTimeoutMs: 200 });
    await raw(h, 'secret-wrong-token');
    const a = await raw(h, 'token-a');
    const ok = h.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R1' });
    await until(() => a.inbox.some((m) => m.id === 'R1'));
    a.answer('R1');
    await ok;
    const sameId = await Promise.allSettled([h.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R2' }), h.request('agent-a', { method: 'GET', uri: '/netbackup/ping', id: 'R2' })]);
    expect(sameId.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code)).toEqual(['HUB_TIMEOUT', 'HUB_TIMEOUT']);
    h.on('notification', () => {});
    a.ws.send(JSON.stringify({ version: '1.0', id: 'N1', type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1, payload: [] }));
    await until(() => a.inbox.some((m) => m.type === 'NOTIFICATION'));
    const scrape = await registry.metrics();
    for (const line of ['nbwss_hub_agents 1', 'nbwss_hub_requests_in_flight 0', 'nbwss_hub_unproven_connections 0', 'nbwss_hub_notifications_total{outcome="handled"} 1']) expect(scrape).toContain(line);
    await h.request('agent-z', { method: 'GET', uri: '/netbackup/ping' }).catch(() => {});
    a.ws.terminate();
    await until(() => lines.some((l) => l.msg === 'agent offline'));
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret-wrong-token');
    expect(text).not.toContain('token-a');
    expect(lines.find((l) => l.msg === 'CONNECT refused')).toMatchObject({ why: 'token', from: '127.0.0.1' });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['agent online', 'CONNECT refused', 'request timed out waiting for its answer', 'request timed out waiting for its agent', 'agent offline']));
    const requests = await registry.getSingleMetricAsString('nbwss_hub_requests_total');
    for (const outcome of ['answered', 'timeout', 'offline']) expect(requests).toContain(`outcome="${outcome}"} 1`);
    expect(await registry.getSingleMetricAsString('nbwss_hub_request_duration_seconds')).toMatch(/_count 1/);
    expect(await registry.getSingleMetricAsString('nbwss_hub_connects_total')).toMatch(/outcome="token"} 1/);
  });
});
