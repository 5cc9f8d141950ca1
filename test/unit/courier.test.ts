// The courier against an outlet of our own (the Outlet interface), so every state can be set.
import { describe, expect, it, vi } from 'vitest';
import { Courier, GRACE_MS, STRIKE_FLOOR, type Outlet } from '../../src/bridge/courier.js';
import { IdStore } from '../../src/dedupe/idstore.js';
import { keyOf } from '../../src/dedupe/keys.js';
import { Outbox } from '../../src/bridge/outbox.js';
import { captureLog } from '../support/log.js';

const k = (id: string) => keyOf('default', id);

class TestOutlet implements Outlet {
  ready = true;
  connection = 1;
  bufferedAmount = 0;
  /** Calls `done` with an error inside send, as a socket in its error state does. */
  failInside = false;
  /** send answers 0 (the connection went away between the ready check and the send). */
  refuse = false;
  /** Calls `done` without an error inside send. */
  doneInside = false;
  /** Proof-of-read callbacks per connection, when proof is offered at all. */
  proofs: Map<number, (() => void)[]> | null = null;
  awaitRead(connection: number, read: () => void): boolean {
    if (!this.proofs) return false;
    this.proofs.set(connection, [...(this.proofs.get(connection) ?? []), read]);
    return true;
  }
  /** The cloud proved it read everything written on `connection`. */
  prove(connection = this.connection) {
    const reads = this.proofs?.get(connection) ?? [];
    this.proofs?.delete(connection);
    for (const r of reads) r();
  }
  sent: { conn: number; text: string; done: (err?: Error) => void; tag: unknown }[] = [];
  largest = new Map<number, { bytes: number; tag: unknown }>();
  send(text: string, done: (err?: Error) => void, _prefer?: number, tag?: unknown) {
    if (this.refuse) return 0;
    if (this.sent.length > 10_000) throw new Error('send storm');
    this.sent.push({ conn: this.connection, text, done, tag });
    const l = this.largest.get(this.connection);
    if (tag !== undefined && (!l || text.length > l.bytes)) this.largest.set(this.connection, { bytes: text.length, tag });
    if (this.failInside) done(new Error('write EPIPE'));
    if (this.doneInside) done();
    return this.connection;
  }
  /** The connection ends: what the link reports. */
  close(peerCode: number | null) {
    const connection = this.connection;
    this.ready = false;
    return { connection, peerCode, largest: this.largest.get(connection) ?? null };
  }
  reconnect() {
    this.connection++;
    this.ready = true;
  }
}

function setup(opts: { outboxBytes?: number; maxBuffered?: number; storeBytes?: number } = {}) {
  const outlet = new TestOutlet();
  const logs = captureLog();
  const store = new IdStore({ ttlMs: 3_600_000, maxEntries: 100, maxBytes: opts.storeBytes ?? 1 << 20, journal: null, log: logs.log });
  const throttle = { paused: 0, resumed: 0, pause() { this.paused++; }, resume() { this.resumed++; } };
  const courier = new Courier({ outlet, outbox: new Outbox(opts.outboxBytes ?? 1 << 20), store, throttle, maxBufferedBytes: opts.maxBuffered ?? 100, log: logs.log });
  return { outlet, store, throttle, courier, logs };
}

async function answered(store: IdStore, id: string, frame: string) {
  const e = store.queue(k(id), 'GET', 1);
  await store.finish(e, frame);
  return e;
}

describe('Courier', () => {
  it('sends at once on a ready connection and remembers where', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    expect(outlet.sent.map((s) => s.text)).toEqual(['frame-A']);
    expect(e.deliveredOn).toBe(1);
    expect(courier.crossedOnTheWay(e)).toBe(false);
  });

  it('knows when a resend after a reconnect crossed an answer already on its way', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    outlet.ready = false;
    courier.deliver(k('A'), 'frame-A', e);
    outlet.reconnect();
    courier.flush();
    expect(courier.crossedOnTheWay(e)).toBe(true);
    outlet.connection = 3;
    expect(courier.crossedOnTheWay(e)).toBe(false);
  });

  it('holds answers while no connection is up and sends them in completion order on the next', () => {
    const { outlet, courier } = setup();
    outlet.ready = false;
    courier.deliver(k('A'), 'a');
    courier.deliver(k('B'), 'b');
    expect(outlet.sent).toEqual([]);
    outlet.reconnect();
    courier.flush();
    courier.deliver(k('C'), 'c');
    expect(outlet.sent.map((s) => `${s.conn}:${s.text}`)).toEqual(['2:a', '2:b', '2:c']);
  });

  it('never sends from inside a write callback: a failed write waits for its connection to close, then goes out on the next', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    outlet.sent[0]?.done(new Error('socket closed'));
    expect(outlet.sent).toHaveLength(1);
    courier.closed(outlet.close(null));
    expect(e.deliveredOn).toBeNull();
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.map((s) => `${s.conn}:${s.text}`)).toEqual(['1:frame-A', '2:frame-A']);
    expect(e.deliveredOn).toBe(2);
  });

  it('does not storm when the socket fails every write at once while still looking open', async () => {
    const { outlet, store, courier } = setup();
    outlet.failInside = true;
    for (let i = 0; i < 50; i++) courier.deliver(k(`A${i}`), `frame-${i}`, await answered(store, `A${i}`, `frame-${i}`));
    expect(outlet.sent).toHaveLength(50);
    expect(courier.onWire).toBe(50);
    outlet.failInside = false;
    courier.closed(outlet.close(null));
    expect(courier.onWire).toBe(0);
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent).toHaveLength(100);
    expect(outlet.sent.slice(50).every((s) => s.conn === 2)).toBe(true);
  });

  it('answers NBW_ERR_ANSWER_TOO_LARGE in place of an answer the cloud closed on with 1009, and resends the rest', async () => {
    const { outlet, store, courier, logs } = setup();
    const big = await answered(store, 'BIG', JSON.stringify({ id: 'BIG', body: 'x'.repeat(5000) }));
    const small = await answered(store, 'SMALL', 'small-answer');
    courier.deliver(k('BIG'), big.frame as string, big);
    courier.deliver(k('SMALL'), 'small-answer', small);
    outlet.sent[0]?.done();
    courier.closed(outlet.close(1009));
    outlet.reconnect();
    courier.flush();
    const next = outlet.sent.filter((s) => s.conn === 2).map((s) => s.text);
    expect(next).toHaveLength(2);
    const error = JSON.parse(next[0] as string);
    expect(error).toMatchObject({ id: 'BIG', type: 'COMMAND', subType: 'RESPONSE', payload: { responseCode: 502 } });
    expect(JSON.parse(error.payload.body)).toMatchObject({ errorCode: 502, details: { code: 'NBW_ERR_ANSWER_TOO_LARGE' } });
    expect(JSON.parse(error.payload.body).errorMessage).toMatch(/50\d\d bytes.*1009/);
    expect(next[1]).toBe('small-answer');
    expect(store.get(k('BIG'))?.frame).toBe(next[0]);
    expect(logs.lines().find((l) => l.code === 'NBW_ERR_ANSWER_TOO_LARGE')).toMatchObject({ level: 'warn', id: 'BIG' });
    expect(logs.text()).not.toContain('xxxxxxxx');
  });

  it('gives up on a large answer that was being written when two connections broke, not on the first break', async () => {
    const { outlet, store, courier } = setup();
    const big = `frame-A${'x'.repeat(STRIKE_FLOOR)}`;
    const e = await answered(store, 'A', big);
    courier.deliver(k('A'), big, e);
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.map((s) => s.text)).toEqual([big, big]);
    courier.closed(outlet.close(1011));
    outlet.reconnect();
    courier.flush();
    const last = JSON.parse(outlet.sent[2]?.text as string);
    expect(JSON.parse(last.payload.body).details.code).toBe('NBW_ERR_ANSWER_TOO_LARGE');
    expect(JSON.parse(last.payload.body).errorMessage).toMatch(/the connection broke 2 times while it was being sent/);
  });

  it('never counts a break against an answer smaller than STRIKE_FLOOR', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    for (let i = 0; i < 3; i++) {
      courier.closed(outlet.close(null));
      outlet.reconnect();
      courier.flush();
    }
    expect(outlet.sent.map((s) => s.text)).toEqual(['frame-A', 'frame-A', 'frame-A', 'frame-A']);
  });

  it('counts a break only against the largest answer being written: the others go out again as they are', async () => {
    const { outlet, store, courier } = setup();
    const big = await answered(store, 'BIG', `big-${'x'.repeat(STRIKE_FLOOR + 500)}`);
    const small = await answered(store, 'SMALL', 'small');
    for (let i = 0; i < 2; i++) {
      if (i === 0) {
        courier.deliver(k('BIG'), big.frame as string, big);
        courier.deliver(k('SMALL'), 'small', small);
      }
      courier.closed(outlet.close(null));
      outlet.reconnect();
      courier.flush();
    }
    const last = outlet.sent.filter((s) => s.conn === 3).map((s) => s.text);
    expect(last).toHaveLength(2);
    expect(JSON.parse(last[0] as string)).toMatchObject({ id: 'BIG', payload: { responseCode: 502 } });
    expect(last[1]).toBe('small');
  });

  it('does not count a clean close (1000, 1001) against the answer being written', async () => {
    const { outlet, store, courier } = setup();
    const big = `frame-A${'x'.repeat(STRIKE_FLOOR)}`;
    const e = await answered(store, 'A', big);
    courier.deliver(k('A'), big, e);
    for (const code of [1001, 1000, 1001]) {
      courier.closed(outlet.close(code));
      outlet.reconnect();
      courier.flush();
    }
    expect(outlet.sent.map((s) => s.text)).toEqual([big, big, big, big]);
  });

  it('counts a break against an answer of exactly STRIKE_FLOOR, not one byte less', async () => {
    for (const [size, error] of [[STRIKE_FLOOR, true], [STRIKE_FLOOR - 1, false]] as const) {
      const { outlet, store, courier } = setup();
      const frame = 'x'.repeat(size);
      const e = await answered(store, 'A', frame);
      courier.deliver(k('A'), frame, e);
      for (let i = 0; i < 2; i++) {
        courier.closed(outlet.close(null));
        outlet.reconnect();
        courier.flush();
      }
      expect(outlet.sent.at(-1)?.text !== frame, String(size)).toBe(error);
    }
  });

  it('counts a break against the largest answer being written, whatever order they were sent in', async () => {
    const { outlet, store, courier } = setup();
    const larger = await answered(store, 'L', `L${'x'.repeat(STRIKE_FLOOR + 900)}`);
    const smaller = await answered(store, 'S', `S${'x'.repeat(STRIKE_FLOOR + 100)}`);
    courier.deliver(k('L'), larger.frame as string, larger);
    courier.deliver(k('S'), smaller.frame as string, smaller);
    for (let i = 0; i < 2; i++) {
      courier.closed(outlet.close(null));
      outlet.reconnect();
      courier.flush();
    }
    const last = outlet.sent.filter((x) => x.conn === 3).map((x) => x.text);
    expect(JSON.parse(last[0] as string)).toMatchObject({ id: 'L', payload: { responseCode: 502 } });
    expect(last[1]).toBe(smaller.frame);
  });

  it('counts a break against the largest answer also when it was sent after a smaller one', async () => {
    const { outlet, store, courier } = setup();
    const smaller = await answered(store, 'S', `S${'x'.repeat(STRIKE_FLOOR + 100)}`);
    const larger = await answered(store, 'L', `L${'x'.repeat(STRIKE_FLOOR + 900)}`);
    const smallFrame = smaller.frame as string;
    courier.deliver(k('S'), smallFrame, smaller);
    courier.deliver(k('L'), larger.frame as string, larger);
    for (let i = 0; i < 2; i++) {
      courier.closed(outlet.close(null));
      outlet.reconnect();
      courier.flush();
    }
    const last = outlet.sent.filter((x) => x.conn === 3).map((x) => x.text);
    expect(last).toContain(smallFrame);
    expect(last.map((t) => (JSON.parse(t.startsWith('{') ? t : '{}') as { id?: string }).id)).toContain('L');
  });

  it('keeps where an answer went while an older connection\'s copy waits to be sent again, so a resend from before crosses it', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    e.askedOn = 1;
    courier.deliver(k('A'), 'frame-A', e);
    outlet.connection = 2;
    courier.deliver(k('A'), 'frame-A', e);
    outlet.ready = false;
    courier.closed({ connection: 1, peerCode: null, largest: null });
    outlet.ready = true;
    expect(e.deliveredOn).toBe(2);
    expect(courier.crossedOnTheWay(e)).toBe(true);
  });

  it('on a 1009 replaces the answer the cloud refused even while it was still being written, and strikes no other', async () => {
    const { outlet, store, courier } = setup();
    const big = await answered(store, 'BIG', `B${'x'.repeat(STRIKE_FLOOR + 900)}`);
    const other = await answered(store, 'O', `O${'x'.repeat(STRIKE_FLOOR + 100)}`);
    const otherFrame = other.frame as string;
    courier.deliver(k('BIG'), big.frame as string, big);
    courier.deliver(k('O'), otherFrame, other);
    courier.closed(outlet.close(1009));
    outlet.reconnect();
    courier.flush();
    const second = outlet.sent.filter((x) => x.conn === 2).map((x) => x.text);
    expect(second).toHaveLength(2);
    expect(JSON.parse(second[0] as string)).toMatchObject({ id: 'BIG', payload: { responseCode: 502 } });
    expect(second[1]).toBe(otherFrame);
    // One more break: the other answer has its first strike only.
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.filter((x) => x.conn === 3).map((x) => x.text)).toContain(otherFrame);
  });

  it('strikes no answer on a 1009 whose refused answer was already written', async () => {
    const { outlet, store, courier } = setup();
    const big = await answered(store, 'BIG', `B${'x'.repeat(STRIKE_FLOOR + 900)}`);
    const other = await answered(store, 'O', `O${'x'.repeat(STRIKE_FLOOR + 100)}`);
    courier.deliver(k('BIG'), big.frame as string, big);
    outlet.sent[0]!.done();
    const otherFrame = other.frame as string;
    courier.deliver(k('O'), otherFrame, other);
    courier.closed(outlet.close(1009));
    outlet.reconnect();
    courier.flush();
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.filter((x) => x.conn === 3).map((x) => x.text)).toContain(otherFrame);
  });

  it('replaces a refused answer that has no store entry, and resends an answer without one after a break', () => {
    const { outlet, courier } = setup();
    const frame = JSON.stringify({ id: 'NOENT', body: 'x'.repeat(100) });
    courier.deliver(k('NOENT'), frame);
    courier.deliver(k('PLAIN'), 'plain');
    courier.closed(outlet.close(1009));
    outlet.reconnect();
    courier.flush();
    const second = outlet.sent.filter((x) => x.conn === 2).map((x) => x.text);
    expect(JSON.parse(second[0] as string)).toMatchObject({ id: 'NOENT', payload: { responseCode: 502 } });
    expect(second[1]).toBe('plain');
  });

  it('takes a close report without a largest frame, or whose largest frame is not an answer', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    outlet.ready = false;
    courier.closed({ connection: 1, peerCode: 1009, largest: null });
    outlet.reconnect();
    courier.flush();
    courier.deliver(k('B'), 'frame-B');
    outlet.ready = false;
    courier.closed({ connection: 2, peerCode: 1009, largest: { bytes: 10, tag: { kind: 'notification' } } });
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.map((x) => `${x.conn}:${x.text}`)).toEqual(['1:frame-A', '2:frame-A', '2:frame-B', '3:frame-A', '3:frame-B']);
  });

  it('ignores the late write callback of a copy whose connection was already reported closed', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    const stale = outlet.sent[0]!;
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    expect(courier.onItsWay(e)).toBe(true);
    stale.done();
    expect(courier.onItsWay(e)).toBe(true);
    expect(courier.onWire).toBe(1);
    outlet.sent[1]!.done();
    expect(courier.onItsWay(e)).toBe(false);
  });

  it('counts a write callback once, however often it is called', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    courier.deliver(k('A'), 'frame-A', e);
    outlet.sent[0]!.done();
    outlet.sent[0]!.done();
    expect(courier.onItsWay(e)).toBe(true);
    outlet.sent[1]!.done();
    expect(courier.onItsWay(e)).toBe(false);
  });

  it('keeps where an answer went when an older connection\'s close is reported after it was sent on a newer one', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    outlet.connection = 2;
    courier.deliver(k('A'), 'frame-A', e);
    courier.closed({ connection: 1, peerCode: null, largest: null });
    expect(e.deliveredOn).toBe(2);
    expect(courier.onItsWay(e)).toBe(true);
  });

  it('puts nothing on the wire list for an answer written inside send', async () => {
    const { outlet, store, courier } = setup();
    outlet.doneInside = true;
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    expect(courier.onWire).toBe(0);
    expect(courier.onItsWay(e)).toBe(false);
  });

  it('lets the graced holds go GRACE_MS after each later connection, however often it reconnects', async () => {
    vi.useFakeTimers();
    try {
      const { outlet, store, courier } = setup();
      outlet.proofs = new Map();
      const e = await answered(store, 'A', 'frame-A');
      courier.deliver(k('A'), 'frame-A', e);
      outlet.sent[0]!.done();
      for (let i = 0; i < 3; i++) {
        courier.closed(outlet.close(null));
        outlet.reconnect();
        courier.flush();
      }
      expect(() => vi.advanceTimersByTime(2 * GRACE_MS)).not.toThrow();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a held answer in the store however tight dedupe.maxBytes is, so a crossed resend gets nothing more', async () => {
    const { outlet, store, courier } = setup({ storeBytes: 64 });
    outlet.ready = false;
    // As the command service does: the answer is pinned from the moment it is stored until the courier has it.
    for (const id of ['A', 'B']) {
      const e = store.queue(k(id), 'GET', 1);
      store.pin(e);
      await store.finish(e, id.repeat(40));
      courier.deliver(k(id), e.frame as string, e);
      store.unpin(e);
    }
    expect(store.get(k('A'))?.state).toBe('done');
    expect(store.get(k('B'))?.state).toBe('done');
    outlet.reconnect();
    courier.flush();
    for (const s of outlet.sent) s.done();
    expect(store.bytes).toBeLessThanOrEqual(64);
  });

  it('drops the oldest held answers past outbox.maxBytes, expires their ids and names them in a warning', async () => {
    const { outlet, store, courier, logs } = setup({ outboxBytes: 10 });
    outlet.ready = false;
    const a = await answered(store, 'A', '123456');
    courier.deliver(k('A'), '123456', a);
    courier.deliver(k('B'), '7890ab');
    expect(store.get(k('A'))?.state).toBe('expired');
    expect(logs.lines().find((l) => l.code === 'NBW_ERR_ANSWER_DROPPED')).toMatchObject({ level: 'warn', ids: ['A'] });
  });

  it('holds back new REST calls while the socket buffers more than maxBufferedBytes, and resumes once it drains', () => {
    const { outlet, throttle, courier } = setup({ maxBuffered: 100 });
    outlet.bufferedAmount = 150;
    courier.deliver(k('A'), 'a');
    expect(throttle.paused).toBe(1);
    expect(courier.throttled).toBe(true);
    courier.deliver(k('B'), 'b');
    expect(throttle.paused).toBe(1);
    outlet.sent[0]?.done();
    expect(throttle.resumed).toBe(0);
    outlet.bufferedAmount = 50;
    outlet.sent[1]?.done();
    expect(throttle.resumed).toBe(1);
    expect(courier.throttled).toBe(false);
  });

  it('holds back only past maxBufferedBytes: at the limit calls go on, and a drain to the limit resumes them', () => {
    const { outlet, throttle, courier } = setup({ maxBuffered: 100 });
    outlet.bufferedAmount = 100;
    courier.deliver(k('A'), 'a');
    expect(throttle.paused).toBe(0);
    outlet.bufferedAmount = 101;
    courier.deliver(k('B'), 'b');
    expect(throttle.paused).toBe(1);
    outlet.bufferedAmount = 100;
    outlet.sent[1]?.done();
    expect(throttle.resumed).toBe(1);
    courier.down();
    expect(throttle.resumed).toBe(1);
  });

  it('resumes when the connection goes down', () => {
    const { outlet, throttle, courier } = setup({ maxBuffered: 100 });
    outlet.bufferedAmount = 150;
    courier.deliver(k('A'), 'a');
    courier.down();
    expect(throttle.resumed).toBe(1);
  });

  it('holds a written answer in the store until the cloud proves it read it, then lets dedupe.maxBytes release it', async () => {
    const { outlet, store, courier } = setup({ storeBytes: 64 });
    outlet.proofs = new Map();
    const e = store.queue(k('A'), 'GET', 1);
    store.pin(e);
    await store.finish(e, 'a'.repeat(100));
    courier.deliver(k('A'), e.frame as string, e);
    store.unpin(e);
    outlet.sent[0]?.done();
    expect(store.get(k('A'))?.state).toBe('done');
    outlet.prove();
    expect(store.get(k('A'))?.state).toBe('expired');
    expect(store.bytes).toBeLessThanOrEqual(64);
  });

  it('keeps answers written but not proven read held for GRACE_MS after the next connection is up, when the link broke first', async () => {
    vi.useFakeTimers();
    try {
      const { outlet, store, courier } = setup({ storeBytes: 64 });
      outlet.proofs = new Map();
      const e = store.queue(k('A'), 'GET', 1);
      store.pin(e);
      await store.finish(e, 'a'.repeat(100));
      courier.deliver(k('A'), e.frame as string, e);
      store.unpin(e);
      outlet.sent[0]?.done();
      courier.closed(outlet.close(null));
      vi.advanceTimersByTime(GRACE_MS * 2);
      expect(store.get(k('A'))?.state).toBe('done');
      outlet.reconnect();
      courier.flush();
      vi.advanceTimersByTime(GRACE_MS - 1);
      expect(store.get(k('A'))?.state).toBe('done');
      vi.advanceTimersByTime(2);
      expect(store.get(k('A'))?.state).toBe('expired');
      expect(outlet.sent).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps one hold per answer and connection however often it is written, and drops it with the proof', async () => {
    const { outlet, store, courier } = setup();
    outlet.proofs = new Map();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    courier.deliver(k('A'), 'frame-A', e);
    for (const s of outlet.sent) s.done();
    expect(e.pins).toBe(1);
    outlet.prove();
    expect(e.pins).toBe(0);
  });

  it('says an answer is on its way only while a copy is being written to the current connection', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    expect(courier.onItsWay(e)).toBe(false);
    courier.deliver(k('A'), 'frame-A', e);
    courier.deliver(k('A'), 'frame-A', e);
    expect(courier.onItsWay(e)).toBe(true);
    outlet.sent[0]?.done();
    expect(courier.onItsWay(e)).toBe(true);
    outlet.sent[1]?.done();
    expect(courier.onItsWay(e)).toBe(false);
    courier.deliver(k('A'), 'frame-A', e);
    outlet.connection = 2;
    expect(courier.onItsWay(e)).toBe(false);
  });

  it('holds an answer the link would not take although it looked ready', () => {
    const { outlet, courier } = setup();
    outlet.refuse = true;
    courier.deliver(k('A'), 'a');
    outlet.refuse = false;
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.map((s) => `${s.conn}:${s.text}`)).toEqual(['2:a']);
  });

  it('blames no answer for a 1009 when the largest frame on the connection was not one of its answers', async () => {
    const { outlet, store, courier } = setup();
    const e = await answered(store, 'A', 'frame-A');
    courier.deliver(k('A'), 'frame-A', e);
    courier.closed({ connection: 1, peerCode: 1009, largest: { bytes: 10_000, tag: 'a notification' } });
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.map((s) => s.text)).toEqual(['frame-A', 'frame-A']);
    expect(store.get(k('A'))?.frame).toBe('frame-A');
  });

  it('warns about a slow cloud at most once a minute, counting the episodes in between', () => {
    vi.useFakeTimers();
    try {
      const { outlet, courier, logs } = setup({ maxBuffered: 100 });
      for (let i = 0; i < 3; i++) {
        outlet.bufferedAmount = 150;
        courier.deliver(k(`A${i}`), 'a');
        outlet.bufferedAmount = 0;
        outlet.sent.at(-1)?.done();
      }
      const warnings = () => logs.lines().filter((l) => /reads slower/.test(String(l.msg)));
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]).toMatchObject({ episodes: 1, limit: 100 });
      vi.advanceTimersByTime(60_000);
      outlet.bufferedAmount = 150;
      courier.deliver(k('B'), 'b');
      expect(warnings()).toHaveLength(2);
      expect(warnings()[1]).toMatchObject({ episodes: 3 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('forgets a strike once the answer was written whole: a later break starts the count again', async () => {
    const { outlet, store, courier } = setup();
    const big = `frame-A${'x'.repeat(STRIKE_FLOOR)}`;
    const e = await answered(store, 'A', big);
    courier.deliver(k('A'), big, e);
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    outlet.sent.at(-1)!.done();
    courier.deliver(k('A'), big, e);
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    expect(outlet.sent.at(-1)?.text).toBe(big);
  });

  it('does not let go of a graced answer when a proof for its closed connection comes late', async () => {
    const { outlet, store, courier } = setup({ storeBytes: 200 });
    outlet.proofs = new Map();
    const frame = `A${'x'.repeat(100)}`;
    const e = await answered(store, 'A', frame);
    courier.deliver(k('A'), frame, e);
    outlet.sent[0]!.done();
    const late = outlet.proofs.get(1) ?? [];
    courier.closed(outlet.close(null));
    outlet.reconnect();
    courier.flush();
    for (const read of late) read();
    await answered(store, 'B', `B${'x'.repeat(100)}`);
    expect(store.get(k('A'))?.frame).toBe(frame);
  });

  it('takes a close report whose largest frame carries no tag, and drops answers without an entry from a full outbox', () => {
    const { outlet, courier } = setup({ outboxBytes: 10 });
    outlet.ready = false;
    courier.closed({ connection: 1, peerCode: 1009, largest: { bytes: 10, tag: null } });
    courier.deliver(k('X'), '0123456789');
    expect(() => courier.deliver(k('Y'), '0123456789')).not.toThrow();
  });
});
