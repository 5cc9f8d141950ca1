import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { IdStore, type IdStoreOptions } from '../../src/state/idstore.js';

function store(opts: Partial<IdStoreOptions> = {}) {
  let now = 1_000_000;
  const s = new IdStore({ ttlMs: 1000, maxEntries: 100, maxBytes: 1 << 20, journal: null, log: silentLogger(), now: () => now, ...opts });
  return { s, advance: (ms: number) => (now += ms) };
}

describe('IdStore', () => {
  it('follows an id from queued to running to done with its answer', async () => {
    const { s } = store();
    const e = s.queue('A', 'POST', 1);
    expect(s.get('A')?.state).toBe('queued');
    await s.start(e);
    expect(s.get('A')?.state).toBe('running');
    expect(s.finish(e, 'frame-A')).toBeUndefined();
    expect(s.get('A')).toMatchObject({ state: 'done', frame: 'frame-A', method: 'POST' });
    expect(s.bytes).toBe('frame-A'.length);
  });

  it('forgets an id that never ran', () => {
    const { s } = store();
    s.queue('A', 'GET', 1);
    s.forget('A');
    expect(s.get('A')).toBeUndefined();
  });

  it('forgets answered ids after ttlMs, never those in flight', async () => {
    const { s, advance } = store({ ttlMs: 1000 });
    const done = s.queue('D', 'GET', 1);
    await s.finish(done, 'x');
    const running = s.queue('R', 'POST', 1);
    await s.start(running);
    advance(1001);
    expect(s.get('D')).toBeUndefined();
    expect(s.get('R')?.state).toBe('running');
    const late = s.queue('L', 'GET', 1);
    await s.finish(late, 'y');
    advance(500);
    s.sweep();
    expect(s.get('L')?.state).toBe('done');
    advance(501);
    s.sweep();
    expect(s.size).toBe(1);
  });

  it('keeps at most maxEntries ids, forgetting the oldest answered ones first and never one in flight', async () => {
    const { s } = store({ maxEntries: 3 });
    const r = s.queue('R', 'POST', 1);
    await s.start(r);
    for (const id of ['A', 'B', 'C', 'D']) await s.finish(s.queue(id, 'GET', 1), id);
    expect(s.size).toBe(3);
    expect(s.get('R')?.state).toBe('running');
    expect(s.get('A')).toBeUndefined();
    expect(s.get('B')).toBeUndefined();
    expect(s.get('D')?.state).toBe('done');
  });

  it('releases the oldest answers past maxBytes, keeping their ids as expired', async () => {
    const { s } = store({ maxBytes: 10 });
    await s.finish(s.queue('A', 'POST', 1), '123456');
    await s.finish(s.queue('B', 'POST', 1), '7890ab');
    expect(s.get('A')).toMatchObject({ state: 'expired', frame: null });
    expect(s.get('B')).toMatchObject({ state: 'done', frame: '7890ab' });
    expect(s.bytes).toBe(6);
    s.expire('B');
    expect(s.get('B')?.state).toBe('expired');
    expect(s.bytes).toBe(0);
  });

  it('restores journal records: answered ids with their answers, started ones as interrupted', () => {
    const { s } = store({ ttlMs: 10_000 });
    const counts = s.restore([
      { t: 's', id: 'A', m: 'POST', at: 1_000_000 },
      { t: 'd', id: 'A', m: 'POST', at: 1_000_001, f: 'answer-A' },
      { t: 's', id: 'B', m: 'POST', at: 1_000_002 },
      { t: 's', id: 'C', m: 'GET', at: 1_000_003 },
      { t: 'e', id: 'E', m: 'DELETE', at: 1_000_004 },
      { t: 's', id: 'A', m: 'POST', at: 1_000_005 },
    ]);
    expect(counts).toEqual({ queued: 0, running: 0, done: 1, expired: 1, interrupted: 2 });
    expect(s.get('A')).toMatchObject({ state: 'done', frame: 'answer-A' });
    expect(s.get('B')).toMatchObject({ state: 'interrupted', method: 'POST' });
    expect(s.get('E')?.state).toBe('expired');
    expect([...s.snapshot()]).toEqual([
      { t: 'd', id: 'A', m: 'POST', at: 1_000_001, f: 'answer-A' },
      { t: 's', id: 'B', m: 'POST', at: 1_000_002 },
      { t: 's', id: 'C', m: 'GET', at: 1_000_003 },
      { t: 'e', id: 'E', m: 'DELETE', at: 1_000_004 },
    ]);
  });

  it('drops restored ids older than ttlMs', () => {
    const { s } = store({ ttlMs: 1000 });
    s.restore([{ t: 'd', id: 'OLD', m: 'GET', at: 1_000_000 - 5000, f: 'x' }, { t: 'd', id: 'NEW', m: 'GET', at: 1_000_000, f: 'y' }]);
    expect(s.get('OLD')).toBeUndefined();
    expect(s.get('NEW')?.frame).toBe('y');
  });
});

describe('IdStore with a journal', () => {
  it('compacts the journal once it grows past twice the live ids', async () => {
    const { mkdtempSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Journal, JOURNAL_FILE } = await import('../../src/state/journal.js');
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-compact-'));
    const { journal } = await Journal.open(dir, silentLogger());
    const s = new IdStore({ ttlMs: 600_000, maxEntries: 10, maxBytes: 1 << 20, journal, log: silentLogger() });
    const frame = 'f'.repeat(1000);
    const first = s.queue('FIRST', 'POST', 1);
    await s.start(first);
    const finishing = s.finish(first, frame);
    expect(first.state).toBe('running');
    await finishing;
    expect(first.state).toBe('done');
    let written = 0;
    for (let batch = 0; batch < 30; batch++) {
      const entries = Array.from({ length: 100 }, (_, i) => s.queue(`ID-${batch * 100 + i}`, 'POST', 1));
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
    expect(restored.get('ID-2999')?.frame).toBe(frame);
    expect(restored.size).toBe(10);
    await again.journal.close();
  }, 20_000);
});

describe('IdStore bounds over time', () => {
  it('keeps its bookkeeping as small as the ids it remembers when they age out before the count bound', async () => {
    const { s, advance } = store({ ttlMs: 1000, maxEntries: 1_000_000 });
    for (let i = 0; i < 20_000; i++) {
      s.finish(s.queue(`T-${i}`, 'GET', 1), 'x');
      advance(1);
      if (i % 1000 === 0) s.sweep();
    }
    s.sweep();
    s.finish(s.queue('LAST', 'GET', 1), 'x');
    expect(s.size).toBeLessThanOrEqual(1002);
    expect(s.listed).toBeLessThanOrEqual(2 * s.size + 2);
  });

  it('forgets the oldest ids in order under steady churn at the count bound', async () => {
    const { s } = store({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) s.finish(s.queue(`C-${i}`, 'GET', 1), 'x');
    expect(s.size).toBe(100);
    expect(s.get('C-9899')).toBeUndefined();
    expect(s.get('C-9900')?.state).toBe('done');
  });
});
