// `nbwss-bridge hub`: the HTTP API in front of a hub, with a real bridge daemon as the agent,
// and the command itself (its configuration errors, its start and its stop).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { loadHubConfig } from '../../src/hub/config.js';
import { HubService } from '../../src/hub/service.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { childEnv } from '../support/cli-env.js';
import { captureLog } from '../support/log.js';
import { RestServer, sendJson } from '../support/fakes.js';
import { until } from '../support/wait.js';

const KEY = 'k'.repeat(40);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-hub-svc-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key'), `${KEY}\n`, { mode: 0o600 });
  return dir;
}

async function service(extra: Record<string, string> = {}) {
  const dir = scratch();
  const { config } = loadHubConfig({ env: {}, overrides: { listen: '127.0.0.1:0', 'api.listen': '127.0.0.1:0', tokens: join(dir, 'tokens.json'), 'api.keyFile': join(dir, 'key'), ...extra } });
  const logs = captureLog('debug');
  const svc = await HubService.start(config, logs.log);
  cleanups.push(() => svc.stop());
  const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${svc.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, ...(init.headers ?? {}) }, ...(init.json === undefined ? {} : { body: JSON.stringify(init.json), method: init.method ?? 'POST' }) });
  return { svc, api, dir, logs };
}

async function bridge(dir: string, details: unknown) {
  const file = join(dir, 'endpoints.json');
  writeFileSync(file, JSON.stringify([details]), { mode: 0o600 });
  const rest = await new RestServer((req, res) => sendJson(res, 200, { path: req.url })).start();
  const { config } = loadConfig({ env: {}, overrides: { 'cloud.endpointsFile': file, 'rest.baseUrl': rest.url, 'reconnect.minMs': '50', 'reconnect.maxMs': '100', 'shutdown.graceMs': '500' }, purpose: 'run' });
  const daemon = await Daemon.open(config, captureLog('warn').log);
  await daemon.start();
  cleanups.push(() => rest.stop(), () => daemon.stop('test over'));
}

/** Reads server-sent events from `res` into `events`. */
function readEvents(res: Response, events: { id: string; data: Record<string, unknown> }[]): void {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += Buffer.from(value as Uint8Array).toString('utf8');
      let end: number;
      while ((end = text.indexOf('\n\n')) !== -1) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data) events.push({ id, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
  })();
  cleanups.push(() => reader.cancel().catch(() => {}));
}

describe('hub service API', () => {
  it('issues an agent, sees it connect, relays its requests and says why one failed', async () => {
    const { svc, api, dir, logs } = await service();
    expect((await fetch(`${svc.apiUrl}/agents`)).status).toBe(401);
    expect((await api('/agents', { headers: { authorization: `Bearer ${'x'.repeat(40)}` } })).status).toBe(401);
    const issued = await api('/agents', { json: { agentId: 'primary-1', group: 'eu' } });
    expect(issued.status).toBe(201);
    const details = (await issued.json()) as { url: string; token: string; groupId: string };
    expect(details).toMatchObject({ url: svc.hub.url, groupId: 'eu' });
    await bridge(dir, details);
    await until(async () => ((await (await api('/agents')).json()) as { agents: unknown[] }).agents.length === 1);
    const ok = await api('/agents/primary-1/requests', { json: { method: 'GET', uri: '/netbackup/admin/jobs', headers: { Authorization: 'jwt-value' } } });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { status: number; body: string; id: string };
    expect(body.status).toBe(200);
    expect(JSON.parse(body.body)).toEqual({ path: '/netbackup/admin/jobs' });
    const refused = await api('/agents/primary-1/requests', { json: { method: 'GET', uri: '/etc/passwd' } });
    expect([refused.status, await refused.json()]).toEqual([502, { error: expect.objectContaining({ code: 'HUB_BRIDGE_ERROR', status: 403, bridgeCode: 'NBW_ERR_POLICY_URI' }) }]);
    const offline = await api('/agents/nobody/requests', { json: { method: 'GET', uri: '/netbackup/ping', timeoutMs: 100 } });
    expect([offline.status, ((await offline.json()) as { error: { code: string } }).error.code]).toEqual([503, 'HUB_AGENT_OFFLINE']);
    expect((await fetch(`${svc.apiUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${svc.apiUrl}/metrics`)).text()).toMatch(/^nbwss_hub_agents 1$/m);
    // Revoked: dropped, and its next CONNECT refused.
    expect((await api('/agents/primary-1', { method: 'DELETE' })).status).toBe(204);
    expect((await api('/agents/primary-1', { method: 'DELETE' })).status).toBe(404);
    await until(() => svc.hub.agents().length === 0);
    const text = JSON.stringify(logs.lines());
    for (const secret of [KEY, details.token, 'jwt-value']) expect(text).not.toContain(secret);
  });

  it('answers every malformed call with a status and the field at fault, and goes on serving', async () => {
    const { api, svc } = await service({ publicUrl: 'wss://hub.example.com/nbwss' });
    const issued = (await (await api('/agents', { json: { agentId: 'behind-lb' } })).json()) as Record<string, unknown>;
    expect(issued).toMatchObject({ url: 'wss://hub.example.com/nbwss', hostName: 'hub.example.com' });
    const cases: [string, RequestInit & { json?: unknown }, number, RegExp][] = [
      ['/agents', { method: 'POST', body: 'not json' }, 400, /not valid JSON/],
      ['/agents', { method: 'POST', body: '[1]' }, 400, /JSON object/],
      ['/agents', { json: { agentId: '' } }, 400, /^agentId/],
      ['/agents', { json: { agentId: 'a\u0000b' } }, 400, /^agentId/],
      ['/agents', { json: { agentId: 'a', group: 'no spaces' } }, 400, /^group/],
      ['/agents', { json: { agentId: 'a', priority: -1 } }, 400, /^priority/],
      ['/agents/a/requests', { json: { method: 'get', uri: '/x' } }, 400, /^method/],
      ['/agents/a/requests', { json: { method: 'GET', uri: 'x' } }, 400, /^uri/],
      ['/agents/a/requests', { json: { method: 'GET', uri: '/x', headers: { a: 1 } } }, 400, /^headers/],
      ['/agents/a/requests', { json: { method: 'GET', uri: '/x', id: '' } }, 400, /^id/],
      ['/agents/a/requests', { json: { method: 'GET', uri: '/x', timeoutMs: 1.5 } }, 400, /^timeoutMs/],
      ['/agents/a/requests', { json: { method: 'GET', uri: '/x', timeoutMs: 2 ** 31 } }, 400, /^timeoutMs: .* to 2147483647/],
      ['/agents', { json: { agentId: 'half a pair \ud800' } }, 400, /well-formed Unicode/],
      ['/agents/%E0%A4%A/requests', { json: {} }, 400, /%-escape/],
      ['/agents/a/requests', { method: 'GET' }, 405, /use POST/],
      ['/nowhere', {}, 404, /no such route/],
      ['/notifications/nope/ack', { method: 'POST' }, 404, /no notification waits/],
    ];
    for (const [path, init, status, message] of cases) {
      const res = await api(path, init);
      const body = (await res.json()) as { error: { message: string } };
      expect([path, res.status], JSON.stringify(body)).toEqual([path, status]);
      expect(body.error.message).toMatch(message);
    }
    // A request line no URL parser takes: answered, and the service goes on.
    const port = Number(new URL(svc.apiUrl).port);
    for (const target of ['//[', '//a:99999', '/%']) {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nConnection: close\r\n\r\n`);
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      await once(socket, 'close');
      expect(got, target).toMatch(/^HTTP\/1\.1 (400|404)/);
    }
    expect((await api('/agents')).status).toBe(200);
  });

  it('streams an agent\'s notifications as server-sent events, acknowledged to the agent only by the application\'s ack', async () => {
    const { svc, api } = await service({ ackTimeoutMs: '300' });
    const { token } = (await (await api('/agents', { json: { agentId: 'a1' } })).json()) as { token: string };
    const ws = new WebSocket(svc.hub.url);
    cleanups.push(() => ws.terminate());
    const inbox: Record<string, unknown>[] = [];
    ws.on('message', (d) => inbox.push(JSON.parse(String(d)) as Record<string, unknown>));
    await once(ws, 'open');
    ws.send(JSON.stringify({ version: '1.0', id: 'C1', type: 'CONNECT', subType: 'REQUEST', timeStamp: 1, payload: { token } }));
    await until(() => inbox.length === 1);
    const note = (id: string) => ws.send(JSON.stringify({ version: '1.0', id, type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1, payload: [{ notificationType: 'CREATE', object: 'JOB', data: [{ jobId: 7 }] }] }));
    const acked = () => inbox.filter((m) => m.type === 'NOTIFICATION').map((m) => m.id);
    note('N0'); // no stream reads it: left for the agent to send again
    await new Promise((r) => setTimeout(r, 100));
    const events: { id: string; data: Record<string, unknown> }[] = [];
    const stream = await api('/agents/a1/notifications');
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    readEvents(stream, events);
    await until(() => svc.hub.agents().length === 1);
    note('N1');
    await until(() => events.length === 1);
    expect(events[0]?.data).toMatchObject({ agentId: 'a1', id: 'N1', notifications: [{ object: 'JOB', data: [{ jobId: 7 }] }], ack: `/notifications/${events[0]?.id}/ack` });
    expect(acked()).toEqual([]);
    expect((await api(`/notifications/${events[0]?.id}/ack`, { method: 'POST' })).status).toBe(204);
    await until(() => acked().includes('N1'));
    // Not acked in time: not acknowledged to the agent; its resend comes as a new event.
    note('N2');
    await until(() => events.length === 2);
    await new Promise((r) => setTimeout(r, 400));
    expect(acked()).toEqual(['N1']);
    expect((await api(`/notifications/${events[1]?.id}/ack`, { method: 'POST' })).status).toBe(404);
    note('N2');
    await until(() => events.length === 3);
    expect((await api(`/notifications/${events[2]?.id}/ack`, { method: 'POST' })).status).toBe(204);
    await until(() => acked().includes('N2'));
    expect(acked()).not.toContain('N0');
  });
});

describe('nbwss-bridge hub', () => {
  const run = (args: string[], env: Record<string, string> = {}) => spawn(process.execPath, ['bin/nbwss-bridge', 'hub', ...args], { env: childEnv({ PATH: process.env.PATH, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = async (args: string[], env: Record<string, string> = {}) => {
    const child = run(args, env);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    return { code, err };
  };

  it('exits 2 naming every configuration problem, and 0 with its options for --help', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'short'), 'abc');
    const none = await exit([]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/tokens: required/);
    expect(none.err).toMatch(/api\.keyFile: required/);
    const open = await exit(['--listen', '0.0.0.0:8443', '--api-listen', '10.0.0.1:80', '--tokens', join(dir, 't.json'), '--api-key-file', join(dir, 'short'), '--redis', 'http://x'], {});
    expect(open.code).toBe(2);
    expect(open.err).toMatch(/redis: must be a redis:\/\/ or rediss:\/\/ URL/);
    const insecure = await exit(['--listen', '0.0.0.0:8443', '--api-listen', '10.0.0.1:80', '--tokens', join(dir, 't.json'), '--api-key-file', join(dir, 'short')]);
    expect(insecure.err).toMatch(/listen: 0\.0\.0\.0:8443 is not loopback and there is no tls\.cert/);
    expect(insecure.err).toMatch(/api\.listen: 10\.0\.0\.1:80 is not loopback/);
    expect(insecure.err).toMatch(/api\.keyFile: the key is 3 characters long/);
    const typo = await exit(['--tokns', 'x']);
    expect([typo.code, typo.err]).toEqual([2, expect.stringMatching(/Unknown option '--tokns'/)]);
    const help = run(['--help']);
    let out = '';
    help.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect((await once(help, 'exit'))[0]).toBe(0);
    for (const flag of ['--listen', '--tls-cert', '--tokens', '--redis', '--api-listen', '--api-key-file', 'NBWSS_HUB_REDIS']) expect(out).toContain(flag);
  });

  it('serves from the environment and a config file, says where in its log, outlives SIGHUP, and on SIGTERM answers waiting callers 503 and exits 0', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'hub.json'), JSON.stringify({ listen: '127.0.0.1:0', 'api.listen': '127.0.0.1:0' })); // dotted keys, as the README's tables name them
    const child = run(['--config', join(dir, 'hub.json')], { NBWSS_HUB_TOKENS: join(dir, 'tokens.json'), NBWSS_HUB_API_KEY_FILE: join(dir, 'key'), NBWSS_HUB_TYPO: '1' });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const lines = createInterface({ input: child.stdout });
    const seen: Record<string, unknown>[] = [];
    lines.on('line', (l) => seen.push(JSON.parse(l) as Record<string, unknown>));
    await until(() => seen.some((l) => l.msg === 'hub serving'), 10_000);
    const serving = seen.find((l) => l.msg === 'hub serving') as { api: string; agents: string };
    expect(seen.some((l) => l.msg === 'unknown environment variable NBWSS_HUB_TYPO ignored')).toBe(true);
    expect(serving.api).not.toMatch(/:8444$/);
    const auth = { authorization: `bearer ${KEY}` }; // the scheme in any case
    expect((await fetch(`${serving.api}/agents/`, { headers: auth })).status).toBe(200);
    const put = await fetch(`${serving.api}/agents`, { method: 'PUT', headers: auth });
    expect([put.status, ((await put.json()) as { error: { message: string } }).error.message]).toEqual([405, 'PUT is not served here; use GET or POST']);
    expect(serving.agents).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/nbwss$/);
    child.kill('SIGHUP');
    await until(() => seen.some((l) => String(l.msg).startsWith('the hub reads its configuration when it starts only')));
    expect(child.exitCode).toBeNull();
    const waiting = fetch(`${serving.api}/agents/nobody/requests`, { method: 'POST', headers: auth, body: JSON.stringify({ method: 'GET', uri: '/netbackup/ping' }) });
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    const closed = await waiting;
    expect([closed.status, ((await closed.json()) as { error: { code: string } }).error.code]).toEqual([503, 'HUB_CLOSED']);
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(seen.some((l) => l.msg === 'hub stopped')).toBe(true);
  });

  it('exits 1 naming what could not start: a port taken, a broken token file, Redis out of reach', async () => {
    const dir = scratch();
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    cleanups.push(() => new Promise((r) => taken.close(r)));
    const port = (taken.address() as { port: number }).port;
    const base = ['--listen', '127.0.0.1:0', '--api-key-file', join(dir, 'key')];
    const busy = await exit([...base, '--tokens', join(dir, 't.json'), '--api-listen', `127.0.0.1:${port}`]);
    expect([busy.code, busy.err]).toEqual([1, expect.stringContaining(`cannot start: api.listen 127.0.0.1:${port} (the HTTP API): EADDRINUSE`)]);
    writeFileSync(join(dir, 'broken.json'), '{"a": ');
    const broken = await exit([...base, '--api-listen', '127.0.0.1:0', '--tokens', join(dir, 'broken.json')]);
    expect([broken.code, broken.err]).toEqual([1, expect.stringMatching(/cannot start: tokens: .*broken\.json cannot be read .*move it away/)]);
    const nowhere = await exit([...base, '--api-listen', '127.0.0.1:0', '--tokens', join(dir, 'no-such-dir', 't.json')]);
    expect([nowhere.code, nowhere.err]).toEqual([1, expect.stringMatching(/cannot start: tokens: cannot write into .*no-such-dir \(ENOENT\)/)]);
    const redis = await exit([...base, '--api-listen', '127.0.0.1:0', '--redis', 'redis://user:s3cret@127.0.0.1:1']);
    expect([redis.code, redis.err]).toEqual([1, expect.stringContaining('cannot start: cannot reach Redis at redis://127.0.0.1:1')]);
    expect(redis.err).not.toContain('s3cret');
  });
});
