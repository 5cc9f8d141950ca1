// Faults: links that drop mid-burst, a REST API that dies mid-call, a cloud that stops reading,
// and repeats. Each checks that every id is answered exactly once and every REST call made once.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gate, sleep, startBridge, type TestBridge, type TestBridgeOptions } from '../support/bridge.js';
import { sendJson, type CloudMessage, type CloudPeer, type FakeCloud } from '../support/fakes.js';
import { until } from '../support/wait.js';

let bridge: TestBridge | null = null;
afterEach(async () => {
  await bridge?.close();
  bridge = null;
});
const start = async (opts: TestBridgeOptions) => (bridge = await startBridge(opts));

/** Answers of every connection, by id. */
function answersById(cloud: FakeCloud): Map<string, CloudMessage[]> {
  const out = new Map<string, CloudMessage[]>();
  for (const p of cloud.peers) {
    for (const m of p.messages) {
      if (m.type !== 'COMMAND' || m.subType !== 'RESPONSE') continue;
      const id = m.id as string;
      out.set(id, [...(out.get(id) ?? []), m]);
    }
  }
  return out;
}


/** Sends a command under a fixed id, as a cloud resending it would. */
const send = (peer: CloudPeer, id: string, method = 'POST') => peer.sendCommand(method, `/netbackup/admin/jobs/${id}`, { id, parameters: '{}' });

/**
 * Waits until the bridge has handled everything sent on this connection before: a request the
 * policy refuses is answered at once, after the frames that came before it.
 */
let barriers = 0;
const barrier = async (peer: CloudPeer) => {
  const r = await peer.command('GET', '/not-allowed/barrier', { id: `BARRIER-${++barriers}` });
  expect(r.payload.responseCode).toBe(403);
};

describe('a link that drops in the middle of a burst', () => {
  it('answers each of 500 ids exactly once and runs each REST call exactly once, when the cloud resends the unanswered ones', async () => {
    const { cloud, peer, rest } = await start({
      config: { 'queue.concurrency': '8', 'queue.maxPending': '1000', 'reconnect.minMs': '50', 'reconnect.maxMs': '100' },
      rest: async (req, res) => {
        await sleep(Math.random() * 4);
        sendJson(res, 200, { url: req.url });
      },
    });
    const ids = Array.from({ length: 500 }, (_, i) => `BURST-${i}`);
    for (const id of ids) send(peer, id);
    await until(() => answersById(cloud).size >= 150, 10_000, '150 answers');
    peer.ws.terminate();

    const second = await cloud.readyPeer(1, 10_000);
    const unanswered = ids.filter((id) => !answersById(cloud).has(id));
    expect(unanswered.length).toBeGreaterThan(0);
    for (const id of unanswered) send(second, id);
    await until(() => answersById(cloud).size === 500, 20_000, 'every id answered');
    await barrier(second);

    const answers = answersById(cloud);
    const twice = [...answers].filter(([, a]) => a.length !== 1).map(([id]) => id);
    expect(twice, 'ids answered more than once').toEqual([]);
    for (const id of ids) expect(JSON.parse(answers.get(id)?.[0]?.payload.body).url).toBe(`/netbackup/admin/jobs/${id}`);
    const calls = new Map<string, number>();
    for (const r of rest.requests) calls.set(r.url, (calls.get(r.url) ?? 0) + 1);
    expect([...calls.values()].every((n) => n === 1), 'a REST call made twice').toBe(true);
    expect(calls.size).toBe(500);
  }, 40_000);

  it('holds answers finished while no connection is up and sends them, in completion order, right after the next valid:true', async () => {
    const g = gate();
    const { cloud, peer, rest } = await start({ config: { 'queue.concurrency': '4' }, rest: g.handler });
    const ids = ['H1', 'H2', 'H3'].map((id) => send(peer, id));
    await until(() => rest.requests.length === 3, 2000, 'calls started');
    cloud.answerConnect = false;
    peer.ws.terminate();
    const second = await cloud.peer(1, 5000);
    const req = await second.connectRequest();
    g.release();
    await sleep(200);
    expect(second.messages.filter((m) => m.type === 'COMMAND')).toEqual([]);
    second.send({ version: '1.0', id: req.id, type: 'CONNECT', subType: 'RESPONSE', timeStamp: Math.floor(Date.now() / 1000), payload: { valid: true } });
    await until(() => second.messages.filter((m) => m.type === 'COMMAND').length === 3, 2000, 'held answers');
    expect(new Set(second.messages.filter((m) => m.type === 'COMMAND').map((m) => m.id))).toEqual(new Set(ids));
    expect(rest.requests.length).toBe(3);
  });
});

describe('a peer that stops answering pings', () => {
  it('is dropped and redialled while a call runs, and the answer goes out on the new connection', async () => {
    const g = gate();
    const { cloud, peer, rest } = await start({ config: { 'heartbeat.intervalMs': '150' }, rest: g.handler });
    send(peer, 'DURING');
    await until(() => rest.requests.length === 1, 2000, 'the call');
    (peer.ws as unknown as { _socket: Socket })._socket.pause();
    const second = await cloud.readyPeer(1, 5000);
    g.release();
    expect((await second.responseFor('DURING', 5000)).payload.responseCode).toBe(200);
    expect(peer.responsesFor('DURING')).toHaveLength(0);
    expect(rest.requests).toHaveLength(1);
  });
});

describe('repeats of an id', () => {
  it('attaches a repeat to the call in flight: one REST call, one answer', async () => {
    const g = gate();
    const { peer, rest } = await start({ rest: g.handler });
    send(peer, 'R1');
    await until(() => rest.requests.length === 1, 2000, 'first call');
    send(peer, 'R1');
    send(peer, 'R1');
    await barrier(peer);
    g.release();
    await peer.responseFor('R1');
    await barrier(peer);
    expect(peer.responsesFor('R1')).toHaveLength(1);
    expect(rest.requests).toHaveLength(1);
  });

  it('attaches a repeat of a call still waiting in the queue', async () => {
    const g = gate();
    const { peer, rest } = await start({ config: { 'queue.concurrency': '1' }, rest: g.handler });
    send(peer, 'BUSY');
    send(peer, 'WAITING');
    send(peer, 'WAITING');
    await barrier(peer);
    g.release();
    await peer.responseFor('WAITING');
    await barrier(peer);
    expect(peer.responsesFor('WAITING')).toHaveLength(1);
    expect(rest.requests.map((r) => r.url)).toEqual(['/netbackup/admin/jobs/BUSY', '/netbackup/admin/jobs/WAITING']);
  });

  it('answers a repeat of an answered id with the stored answer, without a REST call', async () => {
    let n = 0;
    const { peer, rest } = await start({ rest: (_req, res) => sendJson(res, 201, { call: ++n }) });
    const first = await peer.responseFor(send(peer, 'DONE-1'));
    send(peer, 'DONE-1');
    await until(() => peer.responsesFor('DONE-1').length === 2, 2000, 'the stored answer again');
    const [a, b] = peer.responsesFor('DONE-1');
    expect(b?.payload).toEqual(a?.payload);
    expect(first.payload.responseCode).toBe(201);
    expect(rest.requests).toHaveLength(1);
  });

  it('answers a resend on a new connection with the stored answer when the first was lost with the old one', async () => {
    const { cloud, peer, rest } = await start({});
    await peer.responseFor(send(peer, 'LOST'));
    peer.ws.terminate();
    const second = await cloud.readyPeer(1);
    send(second, 'LOST');
    expect((await second.responseFor('LOST')).payload.responseCode).toBe(200);
    expect(rest.requests).toHaveLength(1);
  });

  it('runs a request again when its id was refused (queue full, policy): it never ran', async () => {
    const g = gate();
    const { peer, rest } = await start({ config: { 'queue.concurrency': '1', 'queue.maxPending': '0' }, rest: g.handler });
    send(peer, 'FIRST');
    send(peer, 'BOUNCED');
    expect((await peer.responseFor('BOUNCED')).payload.responseCode).toBe(503);
    g.release();
    await peer.responseFor('FIRST');
    send(peer, 'BOUNCED');
    await until(() => peer.responsesFor('BOUNCED').length === 2, 2000, 'second answer');
    expect(peer.responsesFor('BOUNCED')[1]?.payload.responseCode).toBe(200);
    expect(rest.requests.map((r) => r.url)).toEqual(['/netbackup/admin/jobs/FIRST', '/netbackup/admin/jobs/BOUNCED']);
  });

  it('answers 503 "response expired" to a resend whose answer was dropped from a full outbox, and never runs it again', async () => {
    const g = gate((_req, res) => sendJson(res, 200, { pad: 'x'.repeat(3000) }));
    const { cloud, peer, rest, logs } = await start({ config: { 'outbox.maxBytes': '4096' }, rest: g.handler });
    send(peer, 'OLD');
    send(peer, 'NEW');
    await until(() => rest.requests.length === 2, 2000, 'both calls');
    peer.ws.terminate();
    await until(() => !bridge?.daemon.link.ready, 2000, 'link down');
    g.release();
    await until(() => logs.lines().some((l) => l.code === 'NBW_ERR_ANSWER_DROPPED'), 3000, 'the drop warning');
    const second = await cloud.readyPeer(1);
    await second.responseFor('NEW');
    send(second, 'OLD');
    const expired = await second.responseFor('OLD');
    expect(expired.payload.responseCode).toBe(503);
    expect(JSON.parse(expired.payload.body).details.code).toBe('NBW_ERR_RESPONSE_EXPIRED');
    expect(rest.requests).toHaveLength(2);
  });
});

describe('a REST API that dies mid-call', () => {
  it('answers the calls it held with 502, hangs nothing, and serves again once it is back', async () => {
    const g = gate();
    const { peer, rest } = await start({ config: { 'queue.concurrency': '4' }, rest: g.handler });
    const ids = ['K1', 'K2', 'K3', 'K4', 'K5', 'K6'].map((id) => send(peer, id));
    await until(() => rest.requests.length === 4, 2000, '4 calls in flight');
    const port = new URL(rest.url).port;
    await rest.stop();
    const answers = await Promise.all(ids.map((id) => peer.responseFor(id, 5000)));
    for (const a of answers) expect(a.payload.responseCode).toBe(502);
    for (const id of ids) expect(peer.responsesFor(id)).toHaveLength(1);
    await rest.start(Number(port));
    rest.handler = (_req, res) => sendJson(res, 200, {});
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
  });
});

describe('a cloud that stops reading', () => {
  it('stops starting REST calls while its socket is backed up, keeps memory bounded, and delivers everything once it reads again', async () => {
    const body = JSON.stringify({ pad: 'y'.repeat(128 * 1024) });
    const { cloud, peer, rest, daemon } = await start({
      config: { 'queue.concurrency': '4', 'queue.maxPending': '1000', 'cloud.maxBufferedBytes': String(512 * 1024) },
      rest: (_req, res) => sendJson(res, 200, body),
    });
    const socket = (peer.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const ids = Array.from({ length: 300 }, (_, i) => peer.sendCommand('GET', `/netbackup/catalog/images/${i}`, { id: `SLOW-${i}` }));
    await until(() => daemon.courier.throttled, 10_000, 'backpressure');
    await sleep(300);
    const callsWhilePaused = rest.requests.length;
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      peak = Math.max(peak, daemon.link.bufferedAmount);
      await sleep(30);
    }
    expect(rest.requests.length).toBe(callsWhilePaused);
    expect(callsWhilePaused).toBeLessThan(300);
    expect(peak).toBeLessThan(512 * 1024 + 6 * (body.length + 1024));
    socket.resume();
    await until(() => ids.every((id) => peer.responsesFor(id).length > 0), 30_000, 'every answer');
    for (const id of ids) expect(peer.responsesFor(id)).toHaveLength(1);
    expect(rest.requests).toHaveLength(300);
    expect(cloud.peers).toHaveLength(1);
  }, 45_000);
});
