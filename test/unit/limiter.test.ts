import { describe, expect, it } from 'vitest';
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
