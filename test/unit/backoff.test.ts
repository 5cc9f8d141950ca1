import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/link/backoff.js';

describe('Backoff', () => {
  it('grows the ceiling exponentially from minMs and caps it at maxMs', () => {
    const top = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('never waits less than minMs (full jitter above the floor)', () => {
    const low = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0 });
    expect(Array.from({ length: 5 }, () => low.next())).toEqual([100, 100, 100, 100, 100]);
  });

  it('spreads waits across the whole range', () => {
    const b = new Backoff({ minMs: 1000, maxMs: 60000 });
    for (let i = 0; i < 10; i++) b.next();
    const seen = Array.from({ length: 200 }, () => b.next());
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(60000);
    expect(new Set(seen).size).toBeGreaterThan(100);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ minMs: 10, maxMs: 1000, random: () => 0.999999 });
    b.next();
    b.next();
    b.next();
    expect(b.attempt).toBe(3);
    b.reset();
    expect(b.next()).toBe(10);
  });

  it('does not overflow after very many attempts', () => {
    const b = new Backoff({ minMs: 1000, maxMs: 60000, random: () => 0.5 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(30500);
  });
});
