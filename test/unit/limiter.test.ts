import { describe, expect, it, vi } from 'vitest';
import { WarnLimiter } from '../../src/log/limiter.js';
import { captureLog } from '../support/log.js';

describe('WarnLimiter', () => {
  it('logs the first few warnings of a kind from a source, then one summary per interval with the count', () => {
    const { log, lines } = captureLog();
    let now = 0;
    const w = new WarnLimiter(log, { burst: 3, intervalMs: 1000, now: () => now });
    for (let i = 0; i < 100; i++) w.warn(1, 'drop', { i }, 'dropped a message');
    expect(lines().filter((l) => l.level === 'warn')).toHaveLength(3);
    now = 1500;
    w.warn(1, 'drop', { i: 100 }, 'dropped a message');
    const all = lines();
    expect(all.find((l) => l.suppressed === 97)).toMatchObject({ level: 'warn', i: 99 });
    expect(all.filter((l) => l.level === 'warn')).toHaveLength(5);
  });

  it('keeps sources and kinds apart, and writes what is due on flush', () => {
    const { log, lines } = captureLog();
    const w = new WarnLimiter(log, { burst: 1, intervalMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      w.warn(1, 'drop', {}, 'a');
      w.warn(2, 'drop', {}, 'a');
      w.warn(1, 'policy', {}, 'b');
    }
    expect(lines()).toHaveLength(3);
    w.flush();
    expect(lines().filter((l) => l.suppressed === 4)).toHaveLength(3);
  });
});

describe('WarnLimiter over time', () => {
  it('says on the last line of a burst that more are counted, and sums them up on its own once the interval is over', async () => {
    const { log, lines } = captureLog();
    const w = new WarnLimiter(log, { burst: 2, intervalMs: 50 });
    for (let i = 0; i < 7; i++) w.warn('c1', 'drop', { n: i }, 'dropped a message');
    expect(lines().map((l) => l.msg)).toEqual(['dropped a message', 'dropped a message (more like this are counted, and summed up once a minute)']);
    await new Promise((r) => setTimeout(r, 130));
    const summary = lines()[2];
    expect(summary).toMatchObject({ level: 'warn', n: 6, suppressed: 5, intervalMs: 50 });
    expect(summary?.msg).toBe('dropped a message: 5 more times in the last interval, not logged one by one');
    // A new interval starts a new burst.
    w.warn('c1', 'drop', { n: 7 }, 'dropped a message');
    expect(lines().at(-1)).toMatchObject({ n: 7, msg: 'dropped a message' });
    w.flush();
  });

  it('writes no summary when nothing was held back, and keeps no state for sources gone quiet', async () => {
    const { log, lines } = captureLog();
    const w = new WarnLimiter(log, { burst: 5, intervalMs: 30 });
    w.warn(1, 'a', {}, 'x');
    await new Promise((r) => setTimeout(r, 100));
    w.flush();
    expect(lines()).toHaveLength(1);
  });

  it('starts a new interval at exactly intervalMs, summing up the one before', () => {
    const { log, lines } = captureLog();
    let now = 0;
    const w = new WarnLimiter(log, { burst: 1, intervalMs: 1000, now: () => now });
    w.warn(1, 'k', {}, 'm');
    w.warn(1, 'k', {}, 'm');
    now = 1000;
    w.warn(1, 'k', {}, 'm');
    expect(lines().map((l) => l.suppressed ?? 0)).toEqual([0, 1, 0]);
    w.flush();
  });

  it('runs one timer while windows are open, sums up on its own at exactly intervalMs, and stops it once all are quiet or on flush', () => {
    vi.useFakeTimers();
    try {
      const { log, lines } = captureLog();
      const w = new WarnLimiter(log, { burst: 1, intervalMs: 1000, now: () => Date.now() });
      expect(vi.getTimerCount()).toBe(0);
      w.warn(1, 'a', {}, 'm');
      w.warn(1, 'a', {}, 'm');
      w.warn(2, 'b', {}, 'm');
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(1000);
      expect(lines().filter((l) => l.suppressed === 1)).toHaveLength(1);
      expect(vi.getTimerCount()).toBe(0);
      w.warn(1, 'a', {}, 'm');
      expect(vi.getTimerCount()).toBe(1);
      w.flush();
      expect(vi.getTimerCount()).toBe(0);
      w.flush();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sums up on its timer only the windows that are over, and keeps the timer while others are open', () => {
    vi.useFakeTimers();
    try {
      const { log, lines } = captureLog();
      const w = new WarnLimiter(log, { burst: 1, intervalMs: 1000, now: () => Date.now() });
      w.warn(1, 'a', {}, 'm');
      vi.advanceTimersByTime(600);
      w.warn(1, 'b', {}, 'm');
      vi.advanceTimersByTime(400);
      expect(vi.getTimerCount()).toBe(1);
      w.warn(1, 'b', {}, 'm');
      expect(lines()).toHaveLength(2);
      vi.advanceTimersByTime(1000);
      expect(lines().filter((l) => l.suppressed === 1)).toHaveLength(1);
      w.flush();
    } finally {
      vi.useRealTimers();
    }
  });
});
