// What a hostile client of the agents' endpoint sends, and what the hub does: upgrades ws
// refuses, upgrades to other paths, bytes before a CONNECT, ids of any length or shape,
// resends while a notification is being handled. The hub answers each and goes on serving.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Hub, InvalidRequestError, type Notification } from '../../src/cloud/index.js';
import { rawAgent } from '../support/raw-agent.js';
import { until } from '../support/wait.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const AGENTS: Record<string, string> = { 'token-a': 'a', 'token-ab': 'a\u0000b' };

async function hub(opts: Partial<Parameters<typeof Hub.listen>[0]> = {}) {
  const h = await Hub.listen({ path: '/nbwss', authenticate: (t) => (AGENTS[t] ? { agentId: AGENTS[t] as string } : null), ...opts });
  cleanups.push(() => h.close());
  return h;
}

/** Raw HTTP on the hub's port: what comes back before the server closes the socket. */
async function raw(h: Hub, text: string): Promise<string> {
  const port = Number(new URL(h.url).port);
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(text);
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  await once(socket, 'close');
  return got;
}

const agent = (h: Hub, token: string) => rawAgent(h.url, token, cleanups);

describe('a hostile client of the agents\' endpoint', () => {
  it('counts a refused handshake as over: upgrades without a key do not use up maxUnauthenticated', async () => {
    const h = await hub({ maxUnauthenticated: 5 });
    for (let i = 0; i < 8; i++) {
      const answer = await raw(h, 'GET /nbwss HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
    }
    await until(() => h.agents().length === 0);
    await agent(h, 'token-a');
    expect(h.agents().map((a) => a.agentId)).toEqual(['a']);
  });

  it('answers an upgrade to another path 404 and closes it, on a server of its own', async () => {
    const h = await hub();
    expect(await raw(h, 'GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
  });

  it('drops a connection that sends more than 64 KiB before its CONNECT is answered, and serves the others', async () => {
    const h = await hub({ connectTimeoutMs: 60_000 }); // it is the bytes that end it, not the wait
    const ws = new WebSocket(h.url);
    ws.on('error', () => {});
    await once(ws, 'open');
    ws.send('x'.repeat(100 * 1024));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1006);
    await agent(h, 'token-a');
    expect(h.agents()).toHaveLength(1);
  });

  it('takes no message whose id is longer than 256 characters, and sends no request under one', async () => {
    const h = await hub();
    const seen: string[] = [];
    h.on('notification', (n: Notification) => void seen.push(n.id));
    const a = await agent(h, 'token-a');
    a.note('x'.repeat(257));
    a.note('y'.repeat(256));
    await until(() => a.acked().length === 1);
    expect(seen).toEqual(['y'.repeat(256)]);
    await expect(h.request('a', { method: 'GET', uri: '/x', id: 'z'.repeat(257) })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(h.request('a', { method: 'GET', uri: '/x', timeoutMs: 2 ** 31 })).rejects.toThrow(/timeoutMs: must be a whole number of milliseconds from 1 to 2147483647/);
  });

  it('hands a notification resent while its handler still runs to no one: both are acknowledged once it is done', async () => {
    const h = await hub();
    let runs = 0;
    let finish = () => {};
    h.on('notification', async () => {
      runs++;
      await new Promise<void>((r) => (finish = r));
    });
    const a = await agent(h, 'token-a');
    a.note('N1');
    await until(() => runs === 1);
    a.note('N1'); // the agent did not hear back in time and sent it again
    await new Promise((r) => setTimeout(r, 100));
    expect([runs, a.acked()]).toEqual([1, []]);
    finish();
    await until(() => a.acked().length === 2);
    expect(runs).toBe(1);
  });

  it('keeps agents apart whatever their ids hold: one cannot mark another\'s notification handled', async () => {
    const h = await hub();
    const seen: string[] = [];
    h.on('notification', (n: Notification) => void seen.push(JSON.stringify([n.agentId, n.id])));
    const a = await agent(h, 'token-a');
    const ab = await agent(h, 'token-ab');
    a.note('b\u0000n7');
    await until(() => a.acked().length === 1);
    ab.note('n7');
    await until(() => ab.acked().length === 1);
    expect(seen).toEqual([JSON.stringify(['a', 'b\u0000n7']), JSON.stringify(['a\u0000b', 'n7'])]);
  });
});
