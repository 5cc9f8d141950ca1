import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { IdStore, type IdStoreOptions } from '../../src/dedupe/idstore.js';
import { keyOf } from '../../src/dedupe/keys.js';
import type { JournalRecord } from '../../src/dedupe/journal.js';
import { captureLog } from '../support/log.js';

/** A key of the default group. */
const k = (id: string) => keyOf('default', id);

function store(opts: Partial<IdStoreOptions> = {}) {
  let now = 1_000_000;
  const s = new IdStore({ ttlMs: 1000, maxEntries: 100, maxBytes: 1 << 20, journal: null, log: silentLogger(), now: () => now, ...opts });
  return { s, advance: (ms: number) => (now += ms) };
}

describe('IdStore', () => {
  it('follows an id from queued to running to done with its answer', async () => {
    const { s } = store();
    const e = s.queue(k('A'), 'POST', 1);
    expect(s.get(k('A'))?.state).toBe('queued');
    await s.start(e);
    expect(s.get(k('A'))?.state).toBe('running');
    expect(s.finish(e, 'frame-A')).toBeUndefined();
    expect(s.get(k('A'))).toMatchObject({ state: 'done', frame: 'frame-A', method: 'POST' });
    expect(s.bytes).toBe(k('A').length + 'frame-A'.length);
  });

  it('keeps its answers outside the JS heap, in slabs that stay within its byte bound however many answers pass', () => {
    const { s } = store({ maxEntries: 100_000, maxBytes: 1 << 20 });
    const answer = (i: number) => `{"id":"${i}","payload":"${'é'.repeat(600)}"}`;
    for (let i = 0; i < 20_000; i++) s.finish(s.queue(k(String(i)), 'GET', 1), answer(i));
    expect(s.bytes).toBeLessThanOrEqual(1 << 20);
    expect(s.slabBytes).toBeLessThanOrEqual((1 << 20) + 3 * 64 * 1024);
    // the newest answers are held, byte for byte; the oldest released
    expect(s.get(k('19999'))?.frame).toBe(answer(19_999));
    expect(s.get(k('19500'))?.frame).toBe(answer(19_500));
    expect(s.get(k('0'))).toMatchObject({ state: 'expired', frame: null });
  });

  it("keeps every answer in its slabs when one group's few answers outlive another's many (slabs are compacted, not abandoned)", () => {
    const { s } = store({ ttlMs: 600_000, maxEntries: 1_000_000, maxBytes: 16 << 20 });
    const run = (group: string, id: string, frame: string) => s.finish(s.queue(keyOf(group, id), 'GET', 1), frame);
    for (let r = 0; r < 3000; r++) {
      run('quiet', `q${r}`, `{"small":${r}}`);
      for (let j = 0; j < 64; j++) run('noisy', `n${r}-${j}`, 'B'.repeat(16_384));
    }
    expect(s.bytes).toBeLessThanOrEqual(16 << 20);
    expect(s.slabBytes).toBeLessThanOrEqual(19 << 20);
    let keyBytes = 0;
    for (let r = 0; r < 3000; r++) {
      for (const key of [keyOf('quiet', `q${r}`), ...Array.from({ length: 64 }, (_, j) => keyOf('noisy', `n${r}-${j}`))]) if (s.get(key)) keyBytes += key.length;
    }
    // every answer held is in the slabs: none had to be kept as a string
    expect(s.answerBytesInSlabs).toBe(s.bytes - keyBytes);
    expect(s.get(keyOf('quiet', 'q0'))?.frame).toBe('{"small":0}');
    expect(s.get(keyOf('noisy', 'n2999-63'))?.frame).toBe('B'.repeat(16_384));
  });

  it('forgets an id that never ran', () => {
    const { s } = store();
    s.queue(k('A'), 'GET', 1);
    s.forget(k('A'));
    expect(s.get(k('A'))).toBeUndefined();
  });

  it('forgets answered ids after ttlMs, never those in flight', async () => {
    const { s, advance } = store({ ttlMs: 1000 });
    const done = s.queue(k('D'), 'GET', 1);
    await s.finish(done, 'x');
    const running = s.queue(k('R'), 'POST', 1);
    await s.start(running);
    advance(1001);
    expect(s.get(k('D'))).toBeUndefined();
    expect(s.get(k('R'))?.state).toBe('running');
    const late = s.queue(k('L'), 'GET', 1);
    await s.finish(late, 'y');
    advance(500);
    s.sweep();
    expect(s.get(k('L'))?.state).toBe('done');
    advance(501);
    s.sweep();
    expect(s.size).toBe(1);
  });

  it('keeps at most maxEntries ids, forgetting the oldest answered ones first and never one in flight', async () => {
    const { s } = store({ maxEntries: 3 });
    const r = s.queue(k('R'), 'POST', 1);
    await s.start(r);
    for (const id of ['A', 'B', 'C', 'D']) await s.finish(s.queue(k(id), 'GET', 1), id);
    expect(s.size).toBe(3);
    expect(s.get(k('R'))?.state).toBe('running');
    expect(s.get(k('A'))).toBeUndefined();
    expect(s.get(k('B'))).toBeUndefined();
    expect(s.get(k('D'))?.state).toBe('done');
  });

  it('releases the oldest answers past maxBytes, keeping their ids as expired', async () => {
    const keys = 2 * k('A').length;
    const { s } = store({ maxBytes: keys + 10 });
    await s.finish(s.queue(k('A'), 'POST', 1), '123456');
    await s.finish(s.queue(k('B'), 'POST', 1), '7890ab');
    expect(s.get(k('A'))).toMatchObject({ state: 'expired', frame: null });
    expect(s.get(k('B'))).toMatchObject({ state: 'done', frame: '7890ab' });
    expect(s.bytes).toBe(keys + 6);
    s.expire(k('B'));
    expect(s.get(k('B'))?.state).toBe('expired');
    expect(s.bytes).toBe(keys);
  });

  it('counts keys and answers in UTF-8 bytes, and forgets the oldest ids once keys alone pass maxBytes', async () => {
    const { s } = store({ maxBytes: 4096, maxEntries: 1_000_000 });
    await s.finish(s.queue(k('Ü'), 'GET', 1), '€');
    expect(s.bytes).toBe(Buffer.byteLength(k('Ü')) + 3);
    s.forget(k('Ü'));
    expect(s.bytes).toBe(0);
    const long = 'x'.repeat(1000);
    for (let i = 0; i < 30; i++) await s.finish(s.queue(k(`${long}-${i}`), 'GET', 1), 'y');
    expect(s.bytes).toBeLessThanOrEqual(4096);
    expect(s.size).toBeLessThan(5);
    expect(s.get(k(`${long}-29`))?.state).toBe('done');
    expect(s.get(k(`${long}-0`))).toBeUndefined();
  });

  it('never releases an answer that is pinned (held for delivery or being written)', async () => {
    const keys = 2 * k('A').length;
    const { s } = store({ maxBytes: keys + 10 });
    const a = s.queue(k('A'), 'POST', 1);
    const b = s.queue(k('B'), 'POST', 1);
    s.pin(a);
    s.pin(b);
    await s.finish(a, '123456');
    await s.finish(b, '7890ab');
    expect(s.get(k('A'))).toMatchObject({ state: 'done', frame: '123456' });
    expect(s.get(k('B'))).toMatchObject({ state: 'done', frame: '7890ab' });
    expect(s.bytes).toBeGreaterThan(keys + 10);
    s.unpin(a);
    expect(s.get(k('A'))).toMatchObject({ state: 'expired', frame: null });
    expect(s.get(k('B'))).toMatchObject({ state: 'done', frame: '7890ab' });
    expect(s.bytes).toBeLessThanOrEqual(keys + 10);
  });

  it('replaces a stored answer (one the cloud cannot take)', async () => {
    const { s } = store();
    const a = s.queue(k('A'), 'GET', 1);
    await s.finish(a, 'a very large answer');
    s.replace(a, 'err');
    expect(s.get(k('A'))).toMatchObject({ state: 'done', frame: 'err' });
    expect(s.bytes).toBe(k('A').length + 3);
  });

  it('evicts from the group that holds the most: one group flooding the store cannot push out another group\'s ids or answers', async () => {
    const { s } = store({ maxEntries: 10, maxBytes: 4096 });
    const pay = s.queue(keyOf('b', 'PAY-1'), 'POST', 1);
    await s.finish(pay, 'b-answer');
    for (let i = 0; i < 500; i++) await s.finish(s.queue(keyOf('a', `GET-${i}-${'x'.repeat(100)}`), 'GET', 1), 'y'.repeat(200));
    expect(s.get(keyOf('b', 'PAY-1'))).toMatchObject({ state: 'done', frame: 'b-answer' });
    expect(s.size).toBeLessThanOrEqual(10);
    expect(s.bytes).toBeLessThanOrEqual(4096);
  });

  it('keeps the ids of different groups apart', async () => {
    const { s } = store();
    await s.finish(s.queue(keyOf('default', 'X@gold'), 'GET', 1), 'default-answer');
    expect(s.get(keyOf('gold', 'X'))).toBeUndefined();
    await s.finish(s.queue(keyOf('gold', 'X'), 'DELETE', 1), 'gold-answer');
    expect(s.get(keyOf('default', 'X@gold'))?.frame).toBe('default-answer');
    expect(s.get(keyOf('gold', 'X'))?.frame).toBe('gold-answer');
  });

  it('restores journal records: answered ids with their answers, started ones as interrupted', () => {
    const { s } = store({ ttlMs: 10_000 });
    const counts = s.restore([
      { t: 's', g: 'default', id: 'A', m: 'POST', at: 1_000_000 },
      { t: 'd', g: 'default', id: 'A', m: 'POST', at: 1_000_001, f: 'answer-A' },
      { t: 's', g: 'default', id: 'B', m: 'POST', at: 1_000_002 },
      { t: 's', g: 'default', id: 'C', m: 'GET', at: 1_000_003 },
      { t: 'e', g: 'default', id: 'E', m: 'DELETE', at: 1_000_004 },
      { t: 's', g: 'default', id: 'A', m: 'POST', at: 1_000_005 },
    ]);
    expect(counts).toEqual({ queued: 0, running: 0, done: 1, expired: 1, interrupted: 2, migrated: 0 });
    expect(s.get(k('A'))).toMatchObject({ state: 'done', frame: 'answer-A' });
    expect(s.get(k('B'))).toMatchObject({ state: 'interrupted', method: 'POST' });
    expect(s.get(k('E'))?.state).toBe('expired');
    expect([...s.snapshot()]).toEqual([
      { t: 'd', g: 'default', id: 'A', m: 'POST', at: 1_000_001, f: 'answer-A' },
      { t: 's', g: 'default', id: 'B', m: 'POST', at: 1_000_002 },
      { t: 's', g: 'default', id: 'C', m: 'GET', at: 1_000_003 },
      { t: 'e', g: 'default', id: 'E', m: 'DELETE', at: 1_000_004 },
    ]);
  });

  it('reads a journal of the earlier version (bare ids in the default group, <id>@<group> in the others) and writes it back keyed by group', () => {
    const { s } = store({ ttlMs: 10_000 });
    const counts = s.restore(
      [
        { t: 'd', id: 'A', m: 'GET', at: 1_000_000, f: 'default-A' },
        { t: 'd', id: 'A@gold', m: 'POST', at: 1_000_001, f: 'gold-A' },
        { t: 's', id: 'B@nogroup', m: 'POST', at: 1_000_002 },
      ],
      ['default', 'gold'],
    );
    expect(counts.migrated).toBe(3);
    expect(s.get(keyOf('default', 'A'))?.frame).toBe('default-A');
    expect(s.get(keyOf('gold', 'A'))?.frame).toBe('gold-A');
    expect(s.get(keyOf('default', 'B@nogroup'))?.state).toBe('interrupted');
    expect([...s.snapshot()].map((r) => [r.g, r.id])).toEqual([['default', 'A'], ['gold', 'A'], ['default', 'B@nogroup']]);
  });

  it('drops restored ids older than ttlMs', () => {
    const { s } = store({ ttlMs: 1000 });
    s.restore([{ t: 'd', g: 'default', id: 'OLD', m: 'GET', at: 1_000_000 - 5000, f: 'x' }, { t: 'd', g: 'default', id: 'NEW', m: 'GET', at: 1_000_000, f: 'y' }]);
    expect(s.get(k('OLD'))).toBeUndefined();
    expect(s.get(k('NEW'))?.frame).toBe('y');
  });
});

describe('IdStore with a journal', () => {
  it('compacts the journal once it grows past twice the live ids', async () => {
    const { mkdtempSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Journal, JOURNAL_FILE } = await import('../../src/dedupe/journal.js');
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-compact-'));
    const { journal } = await Journal.open(dir, silentLogger());
    const s = new IdStore({ ttlMs: 600_000, maxEntries: 10, maxBytes: 1 << 20, journal, log: silentLogger() });
    const k = (id: string) => keyOf('default', id);
    const frame = 'f'.repeat(1000);
    const first = s.queue(k('FIRST'), 'POST', 1);
    await s.start(first);
    const finishing = s.finish(first, frame);
    expect(first.state).toBe('running');
    await finishing;
    expect(first.state).toBe('done');
    let written = 0;
    for (let batch = 0; batch < 30; batch++) {
      const entries = Array.from({ length: 100 }, (_, i) => s.queue(k(`ID-${batch * 100 + i}`), 'POST', 1));
      await Promise.all(entries.map((e) => s.start(e)));
      await Promise.all(entries.map((e) => s.finish(e, frame)));
      written += 100 * 1100;
    }
    await s.compact();
    const size = statSync(join(dir, JOURNAL_FILE)).size;
    expect(written).toBeGreaterThan(3_000_000);
    expect(size).toBeLessThan(2 * 1024 * 1024);
    await journal.close();
    const again = await Journal.open(dir, silentLogger());
    const restored = new IdStore({ ttlMs: 600_000, maxEntries: 10, maxBytes: 1 << 20, journal: null, log: silentLogger() });
    restored.restore(again.records);
    expect(restored.get(k('ID-2999'))?.frame).toBe(frame);
    expect(restored.size).toBe(10);
    await again.journal.close();
  }, 20_000);
});

describe('IdStore bounds over time', () => {
  it('keeps its bookkeeping as small as the ids it remembers when they age out before the count bound', async () => {
    const { s, advance } = store({ ttlMs: 1000, maxEntries: 1_000_000 });
    for (let i = 0; i < 20_000; i++) {
      s.finish(s.queue(k(`T-${i}`), 'GET', 1), 'x');
      advance(1);
      if (i % 1000 === 0) s.sweep();
    }
    s.sweep();
    s.finish(s.queue(k('LAST'), 'GET', 1), 'x');
    expect(s.size).toBeLessThanOrEqual(1002);
    expect(s.listed).toBeLessThanOrEqual(2 * s.size + 2);
  });

  it('forgets the oldest ids in order under steady churn at the count bound', async () => {
    const { s } = store({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) s.finish(s.queue(k(`C-${i}`), 'GET', 1), 'x');
    expect(s.size).toBe(100);
    expect(s.get(k('C-9899'))).toBeUndefined();
    expect(s.get(k('C-9900'))?.state).toBe('done');
  });
});

describe('IdStore in detail', () => {
  /** A journal of our own: records appends, can fail them, counts compactions. */
  function fakeJournal() {
    const j = {
      records: [] as unknown[],
      fail: false,
      bytes: 0,
      compactions: 0,
      compactGate: null as Promise<void> | null,
      async append(rec: unknown) {
        if (j.fail) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
        j.records.push(rec);
      },
      async compact() {
        j.compactions++;
        await j.compactGate;
      },
    };
    return j;
  }

  it('reads a legacy id only as <id>@<group> for a configured group other than the default, never from an id starting with "@"', () => {
    const { s } = store({ ttlMs: 10_000 });
    s.restore([
      { t: 'd', id: '@gold', m: 'GET', at: 1_000_000, f: 'a' },
      { t: 'd', id: 'X@default', m: 'GET', at: 1_000_000, f: 'b' },
      { t: 'd', id: 'Y@gold', m: 'GET', at: 1_000_000, f: 'c' },
    ], ['default', 'gold']);
    expect(s.get(keyOf('default', '@gold'))?.frame).toBe('a');
    expect(s.get(keyOf('default', 'X@default'))?.frame).toBe('b');
    expect(s.get(keyOf('gold', 'Y'))?.frame).toBe('c');
    expect(s.size).toBe(3);
  });

  it('accounts bytes exactly when records of one id follow each other at restore', () => {
    const { s } = store({ ttlMs: 10_000 });
    s.restore([
      { t: 'd', g: 'default', id: 'A', m: 'GET', at: 1_000_000, f: 'first' },
      { t: 'd', g: 'default', id: 'A', m: 'GET', at: 1_000_001, f: 'second!' },
      { t: 's', g: 'default', id: 'B', m: 'POST', at: 1_000_000 },
      { t: 'e', g: 'default', id: 'B', m: 'POST', at: 1_000_002 },
      { t: 'e', g: 'default', id: 'A', m: 'GET', at: 1_000_003 },
    ]);
    expect(s.get(k('A'))).toMatchObject({ state: 'done', frame: 'second!' });
    expect(s.get(k('B'))).toMatchObject({ state: 'expired', frame: null });
    expect(s.bytes).toBe(2 * k('A').length + 'second!'.length);
    expect(s.size).toBe(2);
  });

  it('ages an answered id out only after ttlMs, and never one whose answer is held', async () => {
    const { s, advance } = store({ ttlMs: 1000 });
    const a = s.queue(k('A'), 'GET', 1);
    await s.finish(a, 'x');
    const b = s.queue(k('B'), 'GET', 1);
    await s.finish(b, 'y');
    s.pin(b);
    advance(1000);
    expect(s.get(k('A'))?.state).toBe('done');
    s.sweep();
    expect(s.size).toBe(2);
    advance(1);
    s.sweep();
    expect(s.get(k('A'))).toBeUndefined();
    expect(s.get(k('B'))?.frame).toBe('y');
    s.unpin(b);
    s.unpin(b);
    expect(b.pins).toBe(0);
    expect(s.get(k('B'))).toBeUndefined();
  });

  it('replaces only an answered id still in the store, journaling the new answer', async () => {
    const j = fakeJournal();
    const { s } = store({ journal: j as never });
    const running = s.queue(k('R'), 'POST', 1);
    await s.start(running);
    s.replace(running, 'nope');
    expect(running.frame).toBeNull();
    const done = s.queue(k('D'), 'GET', 1);
    await s.finish(done, 'old');
    s.expire(k('D'));
    s.replace(done, 'new');
    expect(s.get(k('D'))).toMatchObject({ state: 'done', frame: 'new' });
    await new Promise((r) => setTimeout(r, 0));
    expect(j.records.at(-1)).toMatchObject({ t: 'd', g: 'default', id: 'D', f: 'new' });
    s.forget(k('D'));
    s.replace(done, 'gone');
    expect(s.get(k('D'))).toBeUndefined();
    expect(s.bytes).toBe(k('R').length);
  });

  it('expires only an answered id', async () => {
    const { s } = store();
    s.queue(k('Q'), 'GET', 1);
    s.expire(k('Q'));
    s.expire(k('none'));
    expect(s.get(k('Q'))?.state).toBe('queued');
  });

  it('writes each state to the snapshot as its record: started (running, interrupted), done, expired; nothing for a queued id', async () => {
    const { s } = store({ ttlMs: 10_000 });
    s.restore([{ t: 's', g: 'default', id: 'I', m: 'POST', at: 1_000_000 }]);
    s.queue(k('Q'), 'GET', 1);
    const r = s.queue(k('R'), 'POST', 1);
    await s.start(r);
    const d = s.queue(k('D'), 'GET', 1);
    await s.finish(d, 'dd');
    const e = s.queue(k('E'), 'GET', 1);
    await s.finish(e, 'ee');
    s.expire(k('E'));
    expect([...s.snapshot()].map((x) => `${x.t}:${x.id}`).sort()).toEqual(['d:D', 'e:E', 's:I', 's:R']);
  });

  it('compacts only with a journal, one compaction at a time', async () => {
    await store().s.compact();
    const j = fakeJournal();
    let open!: () => void;
    j.compactGate = new Promise((r) => (open = r));
    const { s } = store({ journal: j as never });
    const first = s.compact();
    await s.compact();
    expect(j.compactions).toBe(1);
    open();
    await first;
    await s.compact();
    expect(j.compactions).toBe(2);
  });

  it('compacts once the journal is larger than twice the live ids and past the floor', async () => {
    const j = fakeJournal();
    const { s } = store({ journal: j as never });
    j.bytes = 1 << 19;
    await s.finish(s.queue(k('A'), 'GET', 1), 'x');
    await new Promise((r) => setTimeout(r, 0));
    expect(j.compactions).toBe(0);
    j.bytes = (1 << 20) + 1;
    await s.finish(s.queue(k('B'), 'GET', 1), 'y');
    await new Promise((r) => setTimeout(r, 0));
    expect(j.compactions).toBe(1);
  });

  it('keeps serving in memory when the journal cannot be written, says so once, and again when it can', async () => {
    const j = fakeJournal();
    const logs = captureLog();
    const { s } = store({ journal: j as never, log: logs.log });
    j.fail = true;
    await s.finish(s.queue(k('A'), 'GET', 1), 'x');
    expect(logs.lines().filter((l) => l.code === 'NBW_ERR_JOURNAL_WRITE')).toHaveLength(1);
    await s.finish(s.queue(k('B'), 'GET', 1), 'y');
    expect(s.get(k('B'))?.frame).toBe('y');
    expect(logs.lines().filter((l) => l.code === 'NBW_ERR_JOURNAL_WRITE')).toHaveLength(1);
    j.fail = false;
    await s.finish(s.queue(k('C'), 'GET', 1), 'z');
    expect(logs.lines().filter((l) => l.msg === 'state journal writable again')).toHaveLength(1);
    await s.finish(s.queue(k('D'), 'GET', 1), 'w');
    expect(logs.lines().filter((l) => l.msg === 'state journal writable again')).toHaveLength(1);
  });

  it('takes answers and ids from the group that holds the most of what is over, oldest first', async () => {
    const { s } = store({ maxEntries: 6, maxBytes: 600 });
    for (const id of ['b1', 'b2']) await s.finish(s.queue(keyOf('b', id), 'POST', 1), 'B'.repeat(100));
    for (let i = 0; i < 4; i++) await s.finish(s.queue(keyOf('a', `a${i}`), 'GET', 1), 'A'.repeat(100));
    // a holds the most answer bytes: its oldest answers go first, b keeps both.
    expect(s.get(keyOf('b', 'b1'))?.frame).toBe('B'.repeat(100));
    expect(s.get(keyOf('b', 'b2'))?.frame).toBe('B'.repeat(100));
    expect(s.get(keyOf('a', 'a0'))?.state).toBe('expired');
    expect(s.get(keyOf('a', 'a3'))?.state).toBe('done');
    // a holds the most ids: its oldest ids go first.
    for (let i = 4; i < 8; i++) await s.finish(s.queue(keyOf('a', `a${i}`), 'GET', 1), 'a');
    expect(s.size).toBe(6);
    expect(s.get(keyOf('b', 'b1'))).toBeDefined();
    expect(s.get(keyOf('b', 'b2'))).toBeDefined();
    expect(s.get(keyOf('a', 'a0'))).toBeUndefined();
    expect(s.get(keyOf('a', 'a7'))?.state).toBe('done');
    expect(s.listed).toBeLessThanOrEqual(2 * s.size + 4);
  });

  it('keeps its lists in step with the ids it holds', async () => {
    const { s } = store();
    for (const id of ['A', 'B', 'C']) await s.finish(s.queue(k(id), 'GET', 1), id);
    s.queue(k('D'), 'GET', 1);
    expect(s.listed).toBeGreaterThanOrEqual(s.size);
    expect(s.listed).toBeLessThanOrEqual(2 * s.size);
    s.forget(k('nothing'));
    expect(s.size).toBe(4);
  });

  it('replaces an answer without a journal quietly', async () => {
    const logs = captureLog();
    const { s } = store({ log: logs.log });
    const e = s.queue(k('A'), 'GET', 1);
    await s.finish(e, 'old');
    s.replace(e, 'new');
    await new Promise((r) => setImmediate(r));
    expect(s.get(k('A'))?.frame).toBe('new');
    expect(logs.lines()).toEqual([]);
  });

  it('releases answers from the group holding the most answer bytes even when it came first, and keeps counting right after releases', async () => {
    const { s } = store({ maxBytes: 760 });
    for (let i = 0; i < 4; i++) await s.finish(s.queue(keyOf('a', `a${i}`), 'GET', 1), 'A'.repeat(100));
    await s.finish(s.queue(keyOf('b', 'b0'), 'GET', 1), 'B'.repeat(100));
    await s.finish(s.queue(keyOf('b', 'b1'), 'GET', 1), 'B'.repeat(150));
    await s.finish(s.queue(keyOf('b', 'b2'), 'GET', 1), 'B'.repeat(100));
    // a holds 400 answer bytes, b 350: a's oldest goes.
    expect(s.get(keyOf('a', 'a0'))?.state).toBe('expired');
    expect(s.get(keyOf('b', 'b0'))?.state).toBe('done');
    // Now a holds 300 and b 350: b's oldest goes next.
    await s.finish(s.queue(keyOf('b', 'b3'), 'GET', 1), 'B'.repeat(100));
    expect(s.get(keyOf('b', 'b0'))?.state).toBe('expired');
    expect(s.get(keyOf('a', 'a1'))?.state).toBe('done');
    expect(s.bytes).toBeLessThanOrEqual(760);
  });

  it('forgets ids from the group holding the most ids even when it came first, and keeps counting right after removals', async () => {
    const { s } = store({ maxEntries: 5 });
    // a's last id weighs more bytes than all of b's: the count, not the bytes, decides.
    const a2 = `a2-${'L'.repeat(200)}`;
    for (const id of ['a0', 'a1', a2]) await s.finish(s.queue(keyOf('a', id), 'GET', 1), 'x');
    s.forget(keyOf('a', 'a0'));
    s.forget(keyOf('a', 'a1'));
    for (const id of ['b0', 'b1', 'b2', 'b3', 'b4']) await s.finish(s.queue(keyOf('b', id), 'GET', 1), 'x');
    expect(s.size).toBe(5);
    expect(s.get(keyOf('a', a2))).toBeDefined();
    expect(s.get(keyOf('b', 'b0'))).toBeUndefined();
  });

  it('forgets ids for their own bytes from the group whose ids weigh the most even when it came first, and keeps counting right after removals', async () => {
    const { s } = store({ maxBytes: 330 });
    const long = (n: number) => `${'L'.repeat(96)}${n}`;
    for (let i = 0; i < 3; i++) await s.finish(s.queue(keyOf('a', long(i)), 'GET', 1), '');
    s.forget(keyOf('a', long(0)));
    for (let i = 0; i < 9; i++) await s.finish(s.queue(keyOf('b', `b${i}-${'s'.repeat(10)}`), 'GET', 1), '');
    // a's ids weigh about 200 bytes, b's about 120: a's oldest goes first.
    expect(s.get(keyOf('a', long(1)))).toBeUndefined();
    expect(s.get(keyOf('b', `b0-${'s'.repeat(10)}`))).toBeDefined();
    expect(s.bytes).toBeLessThanOrEqual(330);
  });

  it('is not over its bounds at exactly maxBytes, and releases as many answers as needed at once', async () => {
    const probe = store();
    for (const id of ['A', 'B']) await probe.s.finish(probe.s.queue(k(id), 'GET', 1), 'x'.repeat(50));
    const exact = probe.s.bytes;
    const { s } = store({ maxBytes: exact });
    for (const id of ['A', 'B']) await s.finish(s.queue(k(id), 'GET', 1), 'x'.repeat(50));
    expect([s.get(k('A'))?.state, s.get(k('B'))?.state]).toEqual(['done', 'done']);
    await s.finish(s.queue(k('C'), 'GET', 1), 'x'.repeat(100));
    expect(s.bytes).toBeLessThanOrEqual(exact);
    expect([s.get(k('A'))?.state, s.get(k('B'))?.state]).toEqual(['expired', 'expired']);
  });

  it('gives up quietly when every answer over the bound is pinned and every id over the count is in flight', async () => {
    const { s } = store({ maxBytes: 100, maxEntries: 2 });
    const pinned = [];
    for (const id of ['A', 'B']) {
      const e = s.queue(k(id), 'GET', 1);
      s.pin(e);
      await s.finish(e, 'x'.repeat(80));
      pinned.push(e);
    }
    expect(pinned.map((e) => s.get(e.id)?.frame?.length)).toEqual([80, 80]);
    for (const id of ['C', 'D', 'E']) s.queue(k(id), 'POST', 1);
    expect(s.size).toBe(5);
    for (const e of pinned) s.unpin(e);
    expect(s.bytes).toBeLessThanOrEqual(100 + 3 * 10);
  });

  it('forgets an answered id before one in flight that is older', async () => {
    const { s } = store({ maxEntries: 2 });
    const old = s.queue(k('OLD'), 'POST', 1);
    await s.finish(s.queue(k('B'), 'GET', 1), 'b');
    await s.finish(s.queue(k('C'), 'GET', 1), 'c');
    expect(s.get(k('OLD'))).toBe(old);
    expect(s.get(k('B'))).toBeUndefined();
  });

  it('counts a group\'s id bytes down as its ids go, so a lighter group that came first keeps its ids', async () => {
    const { s } = store({ maxBytes: 230 });
    const long = (n: number) => `${'L'.repeat(96)}${n}`;
    for (let i = 0; i < 3; i++) await s.finish(s.queue(keyOf('a', long(i)), 'GET', 1), '');
    s.forget(keyOf('a', long(1)));
    for (let i = 0; i < 9; i++) await s.finish(s.queue(keyOf('b', `b${i}-${'s'.repeat(10)}`), 'GET', 1), '');
    expect(s.get(keyOf('a', long(2)))).toBeDefined();
    expect(s.get(keyOf('b', `b0-${'s'.repeat(10)}`))).toBeUndefined();
    expect(s.bytes).toBeLessThanOrEqual(230);
  });

  it('keeps ids whose bytes are exactly maxBytes, and forgets as many as a restore brings over the count at once', async () => {
    const probe = store();
    for (const id of ['A', 'B']) await probe.s.finish(probe.s.queue(k(id), 'GET', 1), '');
    const { s } = store({ maxBytes: probe.s.bytes });
    for (const id of ['A', 'B']) await s.finish(s.queue(k(id), 'GET', 1), '');
    expect(s.size).toBe(2);
    const few = store({ maxEntries: 3, ttlMs: 10_000 });
    few.s.restore(Array.from({ length: 10 }, (_, i): JournalRecord => ({ t: 'd', g: 'default', id: `R${i}`, m: 'GET', at: 1_000_000, f: 'x' })));
    expect(few.s.size).toBe(3);
  });

  it('logs a failed compaction instead of leaving it unhandled', async () => {
    const j = fakeJournal();
    j.bytes = 1 << 30;
    const logs = captureLog();
    const { s } = store({ journal: j as never, log: logs.log });
    (j as { compact: () => Promise<void> }).compact = async () => {
      throw new Error('disk gone');
    };
    await s.finish(s.queue(k('A'), 'GET', 1), 'x');
    await new Promise((r) => setTimeout(r, 10));
    expect(logs.lines().some((l) => l.msg === 'journal compaction failed')).toBe(true);
  });
});
