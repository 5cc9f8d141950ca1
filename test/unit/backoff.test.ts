import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/retry.js';
import { closeWeight } from '../../src/link/link.js';

describe('Backoff', () => {
  it('grows the ceiling exponentially from minMs and caps it at maxMs', () => {
    const top = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([200, 400, 800, 1000, 1000, 1000]);
  });

  it('never waits less than minMs', () => {
    const low = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0 });
    expect(Array.from({ length: 5 }, () => low.next())).toEqual([100, 100, 100, 100, 100]);
  });

  it('jitters even the first wait, so bridges behind one restarting cloud do not come back in step', () => {
    const firsts = Array.from({ length: 200 }, () => new Backoff({ minMs: 1000, maxMs: 60000 }).next());
    expect(Math.min(...firsts)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...firsts)).toBeLessThanOrEqual(2000);
    expect(new Set(firsts).size).toBeGreaterThan(100);
  });

  it('spreads waits across the whole range', () => {
    const b = new Backoff({ minMs: 1000, maxMs: 60000 });
    for (let i = 0; i < 10; i++) b.next();
    const seen = Array.from({ length: 200 }, () => b.next());
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(60000);
    expect(new Set(seen).size).toBeGreaterThan(100);
  });

  it('counts a weighted failure as several', () => {
    const b = new Backoff({ minMs: 100, maxMs: 100_000, random: () => 0.999999 });
    expect(b.next(3)).toBe(800);
    expect(b.attempt).toBe(3);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ minMs: 10, maxMs: 1000, random: () => 0.999999 });
    b.next();
    b.next();
    b.next();
    expect(b.attempt).toBe(3);
    b.reset();
    expect(b.next()).toBe(20);
  });

  it('does not overflow after very many attempts', () => {
    const b = new Backoff({ minMs: 1000, maxMs: 60000, random: () => 0.5 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(30500);
  });
});

describe('close codes and the reconnect backoff', () => {
  it('backs off further after 1013 (try again later), and further still after 1008 and 4000-4999', () => {
    expect(closeWeight(null)).toBe(1);
    expect(closeWeight(1000)).toBe(1);
    expect(closeWeight(1001)).toBe(1);
    expect(closeWeight(1011)).toBe(1);
    expect(closeWeight(1013)).toBe(3);
    expect(closeWeight(1008)).toBe(4);
    expect(closeWeight(4000)).toBe(4);
    expect(closeWeight(4999)).toBe(4);
  });
});
