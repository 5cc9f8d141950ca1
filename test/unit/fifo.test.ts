import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/dedupe/fifo.js';

describe('Fifo', () => {
  it('starts empty', () => {
    const f = new Fifo<number>();
    expect([f.length, f.peek(), f.shift()]).toEqual([0, undefined, undefined]);
  });

  it('keeps first-in first-out order across the trims of its consumed front', () => {
    const f = new Fifo<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 700; i++) f.push(next++);
      for (let i = 0; i < 500; i++) {
        expect(f.peek()).toBe(expected);
        expect(f.shift()).toBe(expected++);
      }
      expect(f.length).toBe(next - expected);
    }
    while (f.length) expect(f.shift()).toBe(expected++);
    expect(expected).toBe(next);
  });

  it('takes new items after being emptied, shifted past its end included', () => {
    const f = new Fifo<string>();
    f.push('a');
    f.shift();
    expect(f.shift()).toBeUndefined();
    expect(f.shift()).toBeUndefined();
    f.push('b');
    expect([f.length, f.peek(), f.shift(), f.length]).toEqual([1, 'b', 'b', 0]);
  });
});
