// What a hostile or careless cloud can do to the link: refuse big answers, drop the link while
// answers stream, close with "try again later", send frames nested thousands deep, pick ids
// that name another group's; and what the bridge promises about masks. Each test failed on the
// bridge before the hardening it guards.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { gate, sleep, startBridge, type TestBridge, type TestBridgeOptions } from '../support/bridge.js';
import { FakeCloud, RestServer, sendJson, type CloudMessage, type CloudPeer } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { until } from '../support/wait.js';
import { childEnv } from '../support/cli-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
let bridge: TestBridge | null = null;
afterEach(async () => {
  await bridge?.close();
  bridge = null;
  for (const c of cleanups.splice(0).reverse()) await c();
});
const start = async (opts: TestBridgeOptions) => (bridge = await startBridge(opts));

/** The built bridge as a child process: a wedged or crashed daemon cannot take the test runner with it. */
function bridgeProcess(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [join(root, 'bin', 'nbwss-bridge'), 'run'], {
    cwd: root,
    env: childEnv({ PATH: process.env.PATH ?? '', NBWSS_RECONNECT_MIN_MS: '50', NBWSS_RECONNECT_MAX_MS: '200', NBWSS_LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out };
}

const bridgeError = (m: CloudMessage) => JSON.parse(m.payload.body as string).details?.code as string | undefined;

describe('an answer larger than the cloud accepts', () => {
  it('is replaced by a 502 NBW_ERR_ANSWER_TOO_LARGE on the next connection instead of being resent for ever, and the bridge keeps serving', async () => {
    const big = JSON.stringify({ data: 'x'.repeat(1_300_000) });
    const rest = await new RestServer((req, res) => sendJson(res, 200, req.url?.includes('/big') ? JSON.parse(big) : { small: true })).start();
    const cloud = await new FakeCloud({ token: 'size-token', maxPayload: 1024 * 1024 }).start();
    cleanups.push(() => rest.stop(), () => cloud.stop());
    const proc = bridgeProcess({ NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: 'size-token', NBWSS_REST_BASE_URL: rest.url });
    const first = await cloud.readyPeer(0, 15_000);
    first.sendCommand('GET', '/netbackup/big', { id: 'BIG' });
    await first.closed;

    const second = await cloud.readyPeer(1, 10_000);
    const answer = await second.responseFor('BIG', 10_000);
    expect(answer.payload.responseCode).toBe(502);
    expect(bridgeError(answer)).toBe('NBW_ERR_ANSWER_TOO_LARGE');
    expect(JSON.parse(answer.payload.body).errorMessage).toMatch(/\(13\d{5} bytes\).*1009/);

    // A resend gets the same error, nothing is run again, and the link stays up.
    const resent = await second.command('GET', '/netbackup/big', { id: 'BIG' });
    expect(resent.payload).toEqual(answer.payload);
    const small = await second.command('GET', '/netbackup/small');
    expect(small.payload.responseCode).toBe(200);
    await sleep(300);
    expect(cloud.peers).toHaveLength(2);
    expect(rest.requests.filter((r) => r.url.includes('/big'))).toHaveLength(1);
    expect(proc.output()).toMatch(/"code":"NBW_ERR_ANSWER_TOO_LARGE"/);
  }, 40_000);
});

describe('a link that breaks while answers stream out', () => {
  it('redials after every drop and answers every id, each REST call made once (the bridge never writes from a write callback)', async () => {
    const rest = await new RestServer((req, res) => sendJson(res, 201, { url: req.url, pad: 'p'.repeat(1500) })).start();
    const cloud = await new FakeCloud({ token: 'storm-token' }).start();
    cleanups.push(() => rest.stop(), () => cloud.stop());
    bridgeProcess({ NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: 'storm-token', NBWSS_REST_BASE_URL: rest.url, NBWSS_MAX_PENDING: '5000', NBWSS_LOG_LEVEL: 'warn' });
    const ids = Array.from({ length: 1500 }, (_, i) => `S-${i}`);
    const answered = new Set<string>();
    const send = (p: CloudPeer, id: string) => p.sendCommand('POST', `/netbackup/admin/jobs/${id}`, { id, parameters: '{}' });
    for (let conn = 0; conn < 12 && answered.size < ids.length; conn++) {
      const peer = await cloud.readyPeer(conn, 10_000);
      peer.ws.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString('utf8')) as CloudMessage;
        if (m.type === 'COMMAND' && m.subType === 'RESPONSE') answered.add(m.id as string);
      });
      for (const id of ids) if (!answered.has(id)) send(peer, id);
      if (conn === 11) break;
      // Break the socket (a TCP reset) while the answers stream out.
      const target = answered.size + 60;
      await until(() => answered.size >= Math.min(target, ids.length), 10_000, 'answers streaming');
      (peer.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
    }
    const last = cloud.peers[cloud.peers.length - 1] as CloudPeer;
    await until(() => answered.size === ids.length || last.isClosed, 20_000, 'every id answered');
    expect(answered.size).toBe(ids.length);
    const runs = new Map<string, number>();
    for (const r of rest.requests) runs.set(r.url, (runs.get(r.url) ?? 0) + 1);
    expect([...runs.values()].filter((n) => n > 1)).toEqual([]);
  }, 60_000);
});

describe('reconnect backoff', () => {
  it('escalates, with jitter, when the cloud accepts every CONNECT and then closes with 1013, instead of redialling at the same pace for ever', async () => {
    const { cloud, logs } = await start({ config: { 'reconnect.minMs': '20', 'reconnect.maxMs': '5000' } });
    for (let n = 0; n < 4; n++) {
      const p = await cloud.readyPeer(n, 10_000);
      await sleep(20);
      p.ws.close(1013, 'try again later');
    }
    await cloud.readyPeer(4, 15_000);
    const lost = logs.lines().filter((l) => l.msg === 'cloud connection lost; reconnecting');
    expect(lost.map((l) => l.closeCode)).toEqual([1013, 1013, 1013, 1013]);
    expect(lost.map((l) => l.attempt)).toEqual([3, 6, 9, 12]);
    expect(new Set(lost.map((l) => l.retryInMs)).size).toBeGreaterThan(1);
  }, 30_000);

  it('does not start the backoff over when a connection drops soon after it was accepted (only once one has stayed up for 30 s)', async () => {
    const { cloud, logs, peer } = await start({ config: { 'reconnect.minMs': '20', 'reconnect.maxMs': '5000' } });
    peer.ws.close(1001);
    const p1 = await cloud.readyPeer(1, 10_000);
    p1.ws.close(1001);
    await cloud.readyPeer(2, 10_000);
    const lost = logs.lines().filter((l) => l.msg === 'cloud connection lost; reconnecting');
    expect(lost.map((l) => l.attempt)).toEqual([1, 2]);
  });
});

describe('frames a decoder must survive', () => {
  it('answers a COMMAND REQUEST nested 20 000 levels deep 400 under its id, and keeps serving', async () => {
    const { peer, rest } = await start({});
    let parameters = '1';
    for (let i = 0; i < 20_000; i++) parameters = `{"a":${parameters}}`;
    peer.send(`{"version":"1.0","id":"DEEP","type":"COMMAND","subType":"REQUEST","timeStamp":1,"payload":{"uri":"/netbackup/x","method":"POST","parameters":${parameters}}}`);
    const deep = await peer.responseFor('DEEP');
    expect(deep.payload.responseCode).toBe(400);
    expect(JSON.parse(deep.payload.body).errorMessage).toMatch(/deeper than cloud.maxJsonDepth \(128\)/);
    peer.send(`{"id":"NOTCMD","type":"NOTIFICATION","subType":"RESPONSE","payload":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
    const ok = await peer.command('GET', '/netbackup/after');
    expect(ok.payload.responseCode).toBe(200);
    expect(rest.requests.map((r) => r.url)).toEqual(['/netbackup/after']);
  });
});

describe('a decoder that cannot throw, through the daemon', () => {
  it('answers or drops any frame up to a few hundred KiB (deep nesting, huge numbers, lone surrogates, odd types) and keeps serving', async () => {
    const { peer } = await start({ logLevel: 'error' });
    const nested = (d: number) => `${'['.repeat(d)}1${']'.repeat(d)}`;
    const odd = fc.oneof(fc.jsonValue(), fc.constant(null), fc.integer().map(String), fc.constantFrom('"\\ud800"', '1e999999', '-0', '"\\u0000"'));
    const frame = fc.oneof(
      fc.integer({ min: 1, max: 60_000 }).map((d) => `{"version":"1.0","id":"F","type":"COMMAND","subType":"REQUEST","timeStamp":1,"payload":{"uri":"/netbackup/x","method":"GET","headers":${nested(d)}}}`),
      fc.integer({ min: 1, max: 300_000 }).map((n) => `{"version":"1.0","id":"N","type":"COMMAND","subType":"REQUEST","timeStamp":${'9'.repeat(Math.min(n, 5000))},"payload":{"uri":"/netbackup/${'9'.repeat(n)}","method":"GET"}}`),
      fc.tuple(odd, odd, odd, odd).map(([id, type, uri, headers]) => `{"version":"1.0","id":${typeof id === 'string' ? id : JSON.stringify(id)},"type":${JSON.stringify(type)},"subType":"REQUEST","timeStamp":1,"payload":{"uri":${JSON.stringify(uri)},"method":"GET","headers":${JSON.stringify(headers)}}}`),
      fc.string({ unit: 'binary', maxLength: 3000 }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(frame, async (text) => {
        peer.ws.send(text);
        const ok = await peer.command('GET', '/netbackup/after', { id: `AFTER-${n++}`, timeoutMs: 10_000 });
        expect(ok.payload.responseCode).toBe(200);
      }),
      { numRuns: 40 },
    );
    expect(bridge?.cloud.peers).toHaveLength(1);
  }, 60_000);
});

describe('endpoint groups keep their ids apart', () => {
  it('an id of the default group that names another group\'s id neither reads its answer nor pre-empts its call', async () => {
    const rest = await new RestServer((req, res) => sendJson(res, 200, { method: req.method, url: req.url })).start();
    const cloud = await new FakeCloud({ token: 'group-token' }).start();
    cleanups.push(() => rest.stop(), () => cloud.stop());
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-groups-'));
    const file = join(dir, 'config.json');
    const endpoints = [
      { url: `${cloud.url}?g=default`, token: 'group-token', group: 'default' },
      { url: `${cloud.url}?g=gold`, token: 'group-token', group: 'gold' },
    ];
    writeFileSync(file, JSON.stringify({ cloud: { endpoints }, rest: { baseUrl: rest.url }, reconnect: { minMs: 50, maxMs: 200 } }));
    const { config } = loadConfig({ env: {}, configFile: file, purpose: 'run' });
    const daemon = await Daemon.open(config, captureLog().log);
    await daemon.start();
    cleanups.push(() => daemon.stop());
    await cloud.readyPeer(1);
    const main = cloud.peers.find((p) => p.path.endsWith('g=default')) as CloudPeer;
    const gold = cloud.peers.find((p) => p.path.endsWith('g=gold')) as CloudPeer;
    await main.connectRequest();

    const mine = await gold.command('DELETE', '/netbackup/config/servers/gold-one', { id: 'X' });
    expect(mine.payload.responseCode).toBe(200);
    // The default group's cloud picks the key the old scheme gave gold's id.
    const other = await main.command('GET', '/netbackup/config/servers/default-one', { id: 'X@gold' });
    expect(JSON.parse(other.payload.body)).toEqual({ method: 'GET', url: '/netbackup/config/servers/default-one' });
    // ...and the other way round: a default id first, then gold's with the same key as before.
    await main.command('GET', '/netbackup/config/servers/first', { id: 'Y@gold' });
    const golds = await gold.command('DELETE', '/netbackup/config/servers/second', { id: 'Y' });
    expect(JSON.parse(golds.payload.body)).toEqual({ method: 'DELETE', url: '/netbackup/config/servers/second' });
    expect(rest.requests).toHaveLength(4);
  });
});

describe('one group\'s slow cloud', () => {
  it('holds back only its own calls: another group is answered while it does not read', async () => {
    const big = { data: 'x'.repeat(4 * 1024 * 1024) };
    const rest = await new RestServer((req, res) => sendJson(res, 200, req.url?.includes('/big') ? big : { pong: true })).start();
    const cloud = await new FakeCloud({ token: 'lane-token' }).start();
    cleanups.push(() => rest.stop(), () => cloud.stop());
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-lanes-'));
    const file = join(dir, 'config.json');
    const endpoints = [
      { url: `${cloud.url}?g=slow`, token: 'lane-token', group: 'slow' },
      { url: `${cloud.url}?g=fast`, token: 'lane-token', group: 'fast' },
    ];
    writeFileSync(file, JSON.stringify({ cloud: { endpoints, maxBufferedBytes: 1048576 }, rest: { baseUrl: rest.url }, queue: { concurrency: 2 } }));
    const { config } = loadConfig({ env: {}, configFile: file, purpose: 'run' });
    const daemon = await Daemon.open(config, captureLog().log);
    await daemon.start();
    cleanups.push(() => daemon.stop());
    await cloud.readyPeer(1);
    const slow = cloud.peers.find((p) => p.path.endsWith('g=slow')) as CloudPeer;
    const fast = cloud.peers.find((p) => p.path.endsWith('g=fast')) as CloudPeer;
    await slow.connectRequest();
    await fast.connectRequest();
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    for (let i = 0; i < 12; i++) slow.sendCommand('GET', `/netbackup/big/${i}`);
    await until(() => rest.requests.length >= 2, 5000, 'the slow group\'s calls to start');
    await sleep(500);
    const started = Date.now();
    const answer = await fast.command('GET', '/netbackup/ping', { timeoutMs: 5000 });
    expect(answer.payload.responseCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(rest.requests.filter((r) => r.url.includes('/big')).length).toBeLessThan(12);
  }, 20_000);
});

describe('an answer the bridge wrote but the cloud never read', () => {
  it('is still there for the resend after a break, however small dedupe.maxBytes is (held until a pong proves it was read)', async () => {
    const { cloud, peer, daemon, rest } = await start({ rest: (req, res) => sendJson(res, 200, { url: req.url, pad: 'p'.repeat(100_000) }), config: { 'dedupe.maxBytes': '1024' } });
    (peer.ws as unknown as { _socket: Socket })._socket.pause();
    peer.sendCommand('GET', '/netbackup/admin/jobs/L1', { id: 'L1' });
    await until(() => daemon.store.get('default:L1')?.state === 'done' && daemon.courier.onWire === 0, 5000, 'the answer written to the socket');
    await sleep(300);
    (peer.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
    const second = await cloud.readyPeer(1, 10_000);
    const again = await second.command('GET', '/netbackup/admin/jobs/L1', { id: 'L1' });
    expect(again.payload.responseCode).toBe(200);
    expect(JSON.parse(again.payload.body).url).toBe('/netbackup/admin/jobs/L1');
    expect(rest.requests).toHaveLength(1);
  });

  it('is released once the cloud proves it read it', async () => {
    const { peer, daemon } = await start({ rest: (req, res) => sendJson(res, 200, { url: req.url, pad: 'p'.repeat(10_000) }), config: { 'dedupe.maxBytes': '1024' } });
    await peer.command('GET', '/netbackup/admin/jobs/R1', { id: 'R1' });
    await until(() => daemon.store.get('default:R1')?.state === 'expired', 3000, 'the answer released after the proof');
    expect(daemon.store.bytes).toBeLessThanOrEqual(1024);
  });
});

describe('one answer per id', () => {
  it('a resend crossing an answer held while the link was down gets nothing more, however small dedupe.maxBytes is', async () => {
    const g = gate((req, res) => sendJson(res, 200, { url: req.url, pad: 'p'.repeat(40_000) }));
    const { cloud, peer, rest } = await start({ rest: g.handler, config: { 'dedupe.maxBytes': '1024', 'queue.concurrency': '16', 'reconnect.minMs': '200', 'reconnect.maxMs': '300' } });
    const ids = Array.from({ length: 40 }, (_, i) => `H-${i}`);
    for (const id of ids) peer.sendCommand('GET', `/netbackup/admin/jobs/${id}`, { id });
    await until(() => g.held === 16, 5000, 'calls to start');
    peer.ws.terminate();
    g.release();
    const second = await cloud.readyPeer(1, 10_000);
    for (const id of ids) second.sendCommand('GET', `/netbackup/admin/jobs/${id}`, { id });
    await until(() => ids.every((id) => second.responsesFor(id).length > 0), 10_000, 'every id answered');
    await sleep(300);
    const twice = ids.filter((id) => second.responsesFor(id).length > 1);
    expect(twice.map((id) => `${id}: ${second.responsesFor(id).map((m) => `${m.payload.responseCode} ${m.payload.body.slice(0, 60)}`).join(' | ')}`)).toEqual([]);
    const statuses = new Set(ids.map((id) => second.responsesFor(id)[0]?.payload.responseCode));
    expect(statuses).toEqual(new Set([200]));
    expect(rest.requests).toHaveLength(40);
  });
});

/** A WebSocket endpoint of bytes: answers the handshake by hand and reads the first frame's masking key. */
async function rawEndpoint(): Promise<{ url: string; firstMask: Promise<Buffer>; close(): Promise<void> }> {
  let resolveMask: (b: Buffer) => void = () => {};
  const firstMask = new Promise<Buffer>((r) => (resolveMask = r));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      if (buf.length < 2) return;
      const len = (buf[1] as number) & 0x7f;
      const at = len === 126 ? 4 : len === 127 ? 10 : 2;
      if (buf.length >= at + 4) resolveMask(Buffer.from(buf.subarray(at, at + 4)));
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/nbwss`,
    firstMask,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('masking keys', () => {
  for (const zero of [false, true]) {
    it(zero ? 'are all-zero to a loopback endpoint only where cloud.loopbackZeroMask opts in' : 'are random by default, even to a loopback endpoint (RFC 6455 §5.3)', async () => {
      const raw = await rawEndpoint();
      cleanups.push(() => raw.close());
      const { config } = loadConfig({
        env: {},
        purpose: 'run',
        overrides: { 'cloud.url': raw.url, 'cloud.token': 'mask-token', 'rest.baseUrl': 'http://127.0.0.1:9', ...(zero ? { 'cloud.loopbackZeroMask': 'true' } : {}) },
      });
      const daemon = await Daemon.open(config, captureLog().log);
      await daemon.start();
      cleanups.push(() => daemon.stop());
      const mask = await raw.firstMask;
      if (zero) expect(mask).toEqual(Buffer.alloc(4));
      else expect(mask.equals(Buffer.alloc(4))).toBe(false);
    });
  }
});

describe('what a cloud can make the bridge log', () => {
  it('20 000 junk frames cost a few warn lines and one summary, not 20 000 lines, and the link keeps serving', async () => {
    const { peer, logs, daemon } = await start({ logLevel: 'info' });
    for (let i = 0; i < 10_000; i++) peer.send(`junk ${i}`);
    for (let i = 0; i < 10_000; i++) peer.send({ version: '1.0', id: `J-${i}`, type: 'OTHER', subType: 'REQUEST', timeStamp: 1, payload: {} });
    const ok = await peer.command('GET', '/netbackup/after-junk', { timeoutMs: 20_000 });
    expect(ok.payload.responseCode).toBe(200);
    const warns = () => logs.lines().filter((l) => l.level === 'warn' && l.code === 'NBW_ERR_FRAME_DROPPED');
    expect(warns().length).toBeLessThanOrEqual(10);
    await daemon.stop();
    const summary = warns().filter((l) => typeof l.suppressed === 'number');
    expect(summary.reduce((n, l) => n + (l.suppressed as number), 0)).toBe(20_000 - 10);
  }, 30_000);
});

describe('answers to the cloud name no internal address', () => {
  it('an unreachable REST API is answered 502 without its host or port; the log names them', async () => {
    const { peer, logs } = await start({ config: { 'rest.baseUrl': 'http://127.0.0.1:9' } });
    const answer = await peer.command('GET', '/netbackup/x');
    expect(answer.payload.responseCode).toBe(502);
    expect(answer.payload.body).not.toContain('127.0.0.1');
    expect(answer.payload.body).not.toMatch(/:9\b/);
    expect(logs.lines().find((l) => l.msg === 'REST call failed')).toMatchObject({ origin: 'http://127.0.0.1:9', backend: 'netbackup' });
  });
});

describe('headers from the cloud', () => {
  it('a control character other than tab in a header value is answered 400, not passed to the HTTP client', async () => {
    const { peer, rest } = await start({});
    const answer = await peer.command('GET', '/netbackup/x', { headers: { Authorization: 'jwt', 'X-Trace': 'a\u001bb' } });
    expect(answer.payload.responseCode).toBe(400);
    expect(rest.requests).toHaveLength(0);
  });

  it('method-override and URL-rewrite headers never reach the REST API', async () => {
    const { peer, rest } = await start({});
    await peer.command('GET', '/netbackup/x', { headers: { Authorization: 'jwt', 'X-HTTP-Method-Override': 'DELETE', 'X-Original-URL': '/netbackup/security/users', 'X-Forwarded-For': '1.2.3.4' } });
    const seen = rest.requests[0]?.headers ?? {};
    expect(Object.keys(seen).filter((h) => /override|original|forwarded/i.test(h))).toEqual([]);
  });
});

describe('a cloud that sends but does not read', () => {
  it('cannot make the bridge queue a copy of a large stored answer per repeat, and is dropped when it neither pongs nor reads', async () => {
    const big = { data: 'x'.repeat(2 * 1024 * 1024) };
    const { peer, daemon, cloud, rest } = await start({ rest: (_req, res) => sendJson(res, 200, big), config: { 'heartbeat.intervalMs': '300' } });
    const first = await peer.command('GET', '/netbackup/big', { id: 'BIG', timeoutMs: 10_000 });
    expect(first.payload.responseCode).toBe(200);
    (peer.ws as unknown as { _socket: Socket })._socket.pause();
    let peak = 0;
    for (let i = 0; i < 150; i++) {
      peer.sendCommand('GET', '/netbackup/big', { id: 'BIG' });
      if (i % 10 === 0) await sleep(5);
      peak = Math.max(peak, daemon.link.bufferedAmount);
    }
    await sleep(50);
    peak = Math.max(peak, daemon.link.bufferedAmount);
    expect(peak).toBeLessThan(2 * 2.2 * 1024 * 1024);
    // No pong can come back from a peer that does not read, and nothing drains: the bridge drops it and redials.
    await cloud.readyPeer(1, 5000);
    expect(rest.requests).toHaveLength(1);
  }, 20_000);
});
