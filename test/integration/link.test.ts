import { afterEach, describe, expect, it } from 'vitest';
import { Link, type LinkOptions } from '../../src/link/link.js';
import type { Inbound } from '../../src/protocol/codec.js';
import { FakeCloud, makeEnvelope } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { httpsServer, TEST_CA } from '../support/tls.js';
import { sleep, until } from '../support/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


async function setup(cloudOpts: Partial<ConstructorParameters<typeof FakeCloud>[0]> = {}, linkOpts: Partial<LinkOptions> = {}) {
  const cloud = await new FakeCloud({ token: 'tok', ...cloudOpts }).start();
  const logs = captureLog();
  const link = new Link({ ...baseOpts(cloud.url, null), log: logs.log, ...linkOpts });
  const inbound: Inbound[] = [];
  const events: string[] = [];
  link.on('inbound', (m) => inbound.push(m));
  link.on('ready', ({ connection }) => events.push(`ready ${connection}`));
  link.on('down', ({ connection }) => events.push(`down ${connection}`));
  cleanups.push(() => cloud.stop(), () => link.stop());
  return { cloud, link, inbound, events, logs };
}


const command = (id = 'C-1') => makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/x', method: 'GET', headers: {} }, id);

describe('Link', () => {
  it('sends a CONNECT REQUEST with the token first, and serves once it is answered valid', async () => {
    const { cloud, link, inbound, events } = await setup();
    link.start();
    const peer = await cloud.readyPeer(0);
    const connect = peer.messages[0];
    expect(connect).toMatchObject({ version: '1.0', type: 'CONNECT', subType: 'REQUEST', payload: { token: 'tok' } });
    expect(connect?.id).toMatch(/^[0-9A-F-]{36}$/);
    await until(() => link.ready, 2000, 'ready');
    expect(events).toEqual([`ready ${link.connection}`]);
    peer.send(command());
    await until(() => inbound.length === 1);
    expect(inbound[0]).toMatchObject({ kind: 'command', command: { id: 'C-1' } });
    expect(link.send('{"x":1}')).toBe(link.connection);
  });

  it('logs an endpoint the WebSocket client refuses to dial and goes on to the next, never throwing', async () => {
    const cloud = await new FakeCloud({ token: 'tok' }).start();
    const logs = captureLog();
    const link = new Link({ ...baseOpts(cloud.url, null), endpoints: [{ url: 'ws://127.0.0.1:9/x#fragment', token: 'tok' }, { url: cloud.url, token: 'tok' }], reconnect: { minMs: 20, maxMs: 50 }, log: logs.log });
    cleanups.push(() => cloud.stop(), () => link.stop());
    expect(() => link.start()).not.toThrow();
    await cloud.readyPeer(0, 5000);
    await until(() => link.ready, 2000, 'ready on the second endpoint');
    expect(logs.lines().find((l) => l.code === 'NBW_ERR_ENDPOINT_UNUSABLE')).toMatchObject({ level: 'error', url: 'ws://127.0.0.1:9/x' });
  });

  it('says who it is in the upgrade request', async () => {
    const { cloud, link } = await setup();
    link.start();
    const peer = await cloud.readyPeer(0);
    expect(peer.upgradeHeaders['user-agent']).toBe('nbwss-bridge/test');
  });

  it('drops what arrives before the CONNECT is answered, and nothing leaves the link', async () => {
    const { cloud, link, inbound, logs } = await setup({ answerConnect: false });
    link.start();
    const peer = await cloud.peer(0);
    const req = await peer.connectRequest();
    peer.send(command('EARLY'));
    await sleep(100);
    expect(inbound).toEqual([]);
    expect(link.ready).toBe(false);
    expect(link.send('{}')).toBe(0);
    expect(logs.text()).toMatch(/before the CONNECT was answered/);
    peer.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: true }, req.id as string));
    peer.send(command('LATE'));
    await until(() => inbound.length === 1);
    expect(inbound[0]).toMatchObject({ kind: 'command', command: { id: 'LATE' } });
  });

  it('ignores a CONNECT RESPONSE under another id', async () => {
    const { cloud, link } = await setup({ answerConnect: false });
    link.start();
    const peer = await cloud.peer(0);
    await peer.connectRequest();
    peer.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: true }, 'NOT-THE-ID'));
    await sleep(100);
    expect(link.ready).toBe(false);
  });

  it('closes a connection answered valid:false and dials again with a new CONNECT id', async () => {
    const { cloud, link, events, logs } = await setup({ token: 'other-token' });
    link.start();
    const first = await cloud.readyPeer(0);
    expect(first.connectValid).toBe(false);
    expect(await first.closed).toBe(1000);
    const second = await cloud.readyPeer(1);
    expect(second.messages[0]?.id).not.toBe(first.messages[0]?.id);
    expect(events).toEqual([]);
    expect(logs.text()).toMatch(/NBW_ERR_CONNECT_REFUSED/);
    expect(link.ready).toBe(false);
  });

  it('takes a CONNECT RESPONSE with valid:true as valid whatever else differs, and says so once', async () => {
    const { cloud, link, logs } = await setup({ answerConnect: false });
    link.start();
    for (const n of [0, 1]) {
      const peer = await cloud.peer(n);
      const req = await peer.connectRequest();
      peer.send({ version: '1.1', id: req.id, type: 'CONNECT', subType: 'RESPONSE', payload: { valid: true, note: 'hi' }, extra: 1 });
      await until(() => link.ready);
      expect(peer.isClosed).toBe(false);
      if (n === 0) peer.ws.close(1001);
      await until(() => n === 1 || !link.ready);
    }
    const lines = logs.text().split('\n').filter((l) => l.includes('differs from NetBackup'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/version.*timeStamp|timeStamp.*version/);
    expect(lines[0]).toMatch(/extra fields \\"extra\\"/);
  });

  it('treats a malformed CONNECT RESPONSE as a refusal', async () => {
    const { cloud, link, logs } = await setup({ answerConnect: false });
    link.start();
    const peer = await cloud.peer(0);
    const req = await peer.connectRequest();
    peer.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: 'yes' }, req.id as string));
    await peer.closed;
    expect(logs.text()).toMatch(/malformed CONNECT RESPONSE/);
  });

  it('gives up on a connection whose CONNECT is never answered, and dials again', async () => {
    const { cloud, link, logs } = await setup({ answerConnect: false }, { connectTimeoutMs: 200 });
    link.start();
    const first = await cloud.peer(0);
    await first.closed;
    await cloud.peer(1, 3000);
    expect(logs.text()).toMatch(/NBW_ERR_CONNECT_TIMEOUT/);
  });

  it('reconnects after the cloud drops the socket, and serves on the new connection', async () => {
    const { cloud, link, inbound, events } = await setup();
    link.start();
    const first = await cloud.readyPeer(0);
    await until(() => link.ready);
    first.ws.terminate();
    const second = await cloud.readyPeer(1);
    await until(() => events.length === 3, 3000, 'ready again');
    const n = link.connection;
    expect(events).toEqual([`ready ${n - 1}`, `down ${n - 1}`, `ready ${n}`]);
    second.send(command('AFTER'));
    await until(() => inbound.length === 1);
  });

  it('keeps dialling while the endpoint is down and connects when it is back', async () => {
    const { cloud, link, logs } = await setup();
    link.start();
    await cloud.readyPeer(0);
    const port = cloud.port;
    await cloud.stop();
    await until(() => logs.text().split('cloud connection failed; retrying').length > 2, 5000, 'two failed dials');
    const back = await new FakeCloud({ token: 'tok' }).start(port);
    cleanups.push(() => back.stop());
    await back.readyPeer(0, 5000);
    await until(() => link.ready, 2000, 'ready after the outage');
  });

  it('terminates and redials a connection whose peer stops answering pings', async () => {
    const { cloud, link, events, logs } = await setup({ autoPong: false }, { heartbeatMs: 150 });
    link.start();
    const first = await cloud.readyPeer(0);
    await until(() => events.length > 0, 2000, 'ready');
    const n = Number(events[0]?.split(' ')[1]);
    await first.closed;
    await cloud.readyPeer(1, 3000);
    expect(events.slice(0, 2)).toEqual([`ready ${n}`, `down ${n}`]);
    expect(logs.text()).toMatch(/NBW_ERR_HEARTBEAT_TIMEOUT/);
  });

  it('allows maxMissedPongs pings in a row without a pong before it gives up, and says how many', async () => {
    const { cloud, link, events, logs } = await setup({ autoPong: false }, { heartbeatMs: 100, maxMissedPongs: 3 });
    link.start();
    const first = await cloud.readyPeer(0);
    await until(() => events.length > 0, 2000, 'ready');
    const readyAt = Date.now();
    await first.closed;
    // Dead at the fifth tick (four pings unanswered), not the second.
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual(350);
    expect(logs.text()).toMatch(/no pong from the cloud to 4 pings in a row, 100 ms apart/);
  });

  it('keeps a connection whose peer answers pings', async () => {
    const { cloud, link } = await setup({}, { heartbeatMs: 100 });
    link.start();
    const peer = await cloud.readyPeer(0);
    await sleep(600);
    expect(peer.isClosed).toBe(false);
    expect(cloud.peers.length).toBe(1);
    expect(link.ready).toBe(true);
  });

  it('drops binary frames and keeps serving', async () => {
    const { cloud, link, inbound, logs } = await setup();
    link.start();
    const peer = await cloud.readyPeer(0);
    peer.ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    peer.send(command('AFTER-BINARY'));
    await until(() => inbound.length === 1);
    expect(inbound[0]).toMatchObject({ kind: 'command', command: { id: 'AFTER-BINARY' } });
    expect(logs.text()).toMatch(/binary frame/);
  });

  it('answers 413 under the id of a frame above maxMessageBytes, and keeps serving', async () => {
    const { cloud, link, inbound } = await setup({}, { maxMessageBytes: 4096 });
    link.start();
    const peer = await cloud.readyPeer(0);
    peer.send(makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/x', method: 'POST', parameters: 'x'.repeat(8000) }, 'BIG'));
    peer.send(command('SMALL'));
    await until(() => inbound.length === 2);
    expect(inbound[0]).toMatchObject({ kind: 'invalid', id: 'BIG', error: { code: 'NBW_ERR_TOO_LARGE', status: 413 } });
    expect(inbound[1]).toMatchObject({ kind: 'command' });
    expect(peer.isClosed).toBe(false);
  });

  it('closes with 1001 on stop and does not dial again', async () => {
    const { cloud, link } = await setup();
    link.start();
    const peer = await cloud.readyPeer(0);
    await until(() => link.ready);
    await link.stop();
    expect(await peer.closed).toBe(1001);
    await sleep(300);
    expect(cloud.peers.length).toBe(1);
    expect(link.state).toBe('stopped');
  });

  describe('over wss://', () => {
    async function secureCloud() {
      const cloud = await new FakeCloud({ token: 'tok', server: httpsServer() }).start();
      cleanups.push(() => cloud.stop());
      return cloud;
    }

    it('trusts the cloud endpoint through cloud.caFile', async () => {
      const cloud = await secureCloud();
      expect(cloud.url).toMatch(/^wss:\/\/localhost:/);
      const secure = new Link(baseOpts(cloud.url, TEST_CA));
      cleanups.push(() => secure.stop());
      secure.start();
      await cloud.readyPeer(0);
      await until(() => secure.ready, 3000, 'wss ready');
    });

    it('does not connect when the certificate is not trusted', async () => {
      const cloud = await secureCloud();
      const logs = captureLog();
      const secure = new Link({ ...baseOpts(cloud.url, null), log: logs.log });
      cleanups.push(() => secure.stop());
      secure.start();
      await sleep(500);
      expect(cloud.peers.length).toBe(0);
      expect(secure.ready).toBe(false);
      expect(logs.text()).toMatch(/cloud connection failed; retrying/);
    });
  });

  it('never keeps two connections when the connection drops while new endpoint details are being dialled and that dial then succeeds', async () => {
    const a = await new FakeCloud({ token: 'tok' }).start();
    const b = await new FakeCloud({ token: 'tok', answerConnect: false }).start();
    const link = new Link({ ...baseOpts(a.url, null), reconnect: { minMs: 400, maxMs: 400 }, log: captureLog().log });
    cleanups.push(() => a.stop(), () => b.stop(), () => link.stop());
    link.start();
    await until(() => link.ready, 3000, 'ready on a');
    link.updateEndpoints([{ url: b.url, token: 'tok' }]);
    const probe = await b.peer(0);
    const req = await probe.connectRequest();
    a.peers[0]!.ws.terminate();
    await sleep(100);
    probe.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: true }, req.id as string));
    await until(() => link.ready, 2000, 'ready on b');
    const conn = link.connection;
    await sleep(800); // the redial scheduled when a dropped would have fired by now
    expect(b.peers.filter((p) => !p.isClosed)).toHaveLength(1);
    expect(link.connection).toBe(conn);
  });

  it('tries the next of new endpoint details when the client refuses to dial the first', async () => {
    const a = await new FakeCloud({ token: 'tok' }).start();
    const b = await new FakeCloud({ token: 'tok' }).start();
    const link = new Link({ ...baseOpts(a.url, null), log: captureLog().log });
    cleanups.push(() => a.stop(), () => b.stop(), () => link.stop());
    link.start();
    await until(() => link.ready, 3000, 'ready on a');
    link.updateEndpoints([{ url: 'ws://127.0.0.1:9/x#fragment', token: 'tok' }, { url: b.url, token: 'tok' }]);
    await b.readyPeer(0, 3000);
    await until(() => link.endpoint?.includes(String(b.port)) ?? false, 3000, 'the move to b');
  });
});

function baseOpts(url: string, ca: string | null): LinkOptions {
  return {
    endpoints: [{ url, token: 'tok' }],
    ca,
    connectTimeoutMs: 2000,
    heartbeatMs: 10_000,
    reconnect: { minMs: 50, maxMs: 200 },
    maxMessageBytes: 64 * 1024,
    perMessageDeflate: false,
    userAgent: 'nbwss-bridge/test',
    log: captureLog().log,
  };
}
