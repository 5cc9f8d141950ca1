// The courier against an outlet of our own (the Outlet interface), so every state can be set.
import { describe, expect, it } from 'vitest';
import { Courier, type Outlet } from '../../src/bridge/courier.js';
import { IdStore } from '../../src/state/idstore.js';
import { Outbox } from '../../src/state/outbox.js';
import { captureLog } from '../support/log.js';

class TestOutlet implements Outlet {
  ready = true;
  connection = 1;
  bufferedAmount = 0;
  sent: { conn: number; text: string; done: (err?: Error) => void }[] = [];
  send(text: string, done: (err?: Error) => void) {
    this.sent.push({ conn: this.connection, text, done });
    return this.connection;
  }
}

function setup(opts: { outboxBytes?: number; maxBuffered?: number } = {}) {
  const outlet = new TestOutlet();
  const logs = captureLog();
  const store = new IdStore({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20, journal: null, log: logs.log });
  const throttle = { paused: 0, resumed: 0, pause() { this.paused++; }, resume() { this.resumed++; } };
  const courier = new Courier({ outlet, outbox: new Outbox(opts.outboxBytes ?? 1 << 20), store, throttle, maxBufferedBytes: opts.maxBuffered ?? 100, log: logs.log });
  return { outlet, store, throttle, courier, logs };
}

describe('Courier', () => {
  it('sends at once on a ready connection and remembers where', async () => {
    const { outlet, store, courier } = setup();
    const e = store.queue('A', 'GET', 1);
    await store.finish(e, 'frame-A');
    courier.deliver('A', 'frame-A', e);
    expect(outlet.sent.map((s) => s.text)).toEqual(['frame-A']);
    expect(e.deliveredOn).toBe(1);
    expect(courier.crossedOnTheWay(e)).toBe(false);
  });

  it('knows when a resend after a reconnect crossed an answer already on its way', async () => {
    const { outlet, store, courier } = setup();
    const e = store.queue('A', 'POST', 1);
    await store.finish(e, 'frame-A');
    outlet.ready = false;
    courier.deliver('A', 'frame-A', e);
    outlet.ready = true;
    outlet.connection = 2;
    courier.flush();
    expect(courier.crossedOnTheWay(e)).toBe(true);
    outlet.connection = 3;
    expect(courier.crossedOnTheWay(e)).toBe(false);
  });

  it('holds answers while no connection is up and sends them in completion order on the next', () => {
    const { outlet, courier } = setup();
    outlet.ready = false;
    courier.deliver('A', 'a');
    courier.deliver('B', 'b');
    expect(outlet.sent).toEqual([]);
    outlet.ready = true;
    outlet.connection = 2;
    courier.flush();
    courier.deliver('C', 'c');
    expect(outlet.sent.map((s) => `${s.conn}:${s.text}`)).toEqual(['2:a', '2:b', '2:c']);
  });

  it('sends again what the socket failed to write, on the next connection', async () => {
    const { outlet, store, courier } = setup();
    const e = store.queue('A', 'POST', 1);
    await store.finish(e, 'frame-A');
    courier.deliver('A', 'frame-A', e);
    outlet.ready = false;
    outlet.sent[0]?.done(new Error('socket closed'));
    expect(e.deliveredOn).toBeNull();
    outlet.ready = true;
    outlet.connection = 2;
    courier.flush();
    expect(outlet.sent.map((s) => `${s.conn}:${s.text}`)).toEqual(['1:frame-A', '2:frame-A']);
    expect(e.deliveredOn).toBe(2);
  });

  it('drops the oldest held answers past outbox.maxBytes, expires their ids and names them in a warning', async () => {
    const { outlet, store, courier, logs } = setup({ outboxBytes: 10 });
    outlet.ready = false;
    const a = store.queue('A', 'POST', 1);
    await store.finish(a, '123456');
    courier.deliver('A', '123456', a);
    courier.deliver('B', '7890ab');
    expect(store.get('A')?.state).toBe('expired');
    expect(logs.lines().find((l) => l.code === 'NBW_ERR_ANSWER_DROPPED')).toMatchObject({ level: 'warn', ids: ['A'] });
  });

  it('holds back new REST calls while the socket buffers more than maxBufferedBytes, and resumes once it drains', () => {
    const { outlet, throttle, courier } = setup({ maxBuffered: 100 });
    outlet.bufferedAmount = 150;
    courier.deliver('A', 'a');
    expect(throttle.paused).toBe(1);
    expect(courier.throttled).toBe(true);
    courier.deliver('B', 'b');
    expect(throttle.paused).toBe(1);
    outlet.sent[0]?.done();
    expect(throttle.resumed).toBe(0);
    outlet.bufferedAmount = 50;
    outlet.sent[1]?.done();
    expect(throttle.resumed).toBe(1);
    expect(courier.throttled).toBe(false);
  });

  it('resumes when the connection goes down', () => {
    const { outlet, throttle, courier } = setup({ maxBuffered: 100 });
    outlet.bufferedAmount = 150;
    courier.deliver('A', 'a');
    courier.down();
    expect(throttle.resumed).toBe(1);
  });
});
