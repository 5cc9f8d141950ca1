import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Answers, textOf, type Answer } from '../../src/dedupe/answers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
const store = (a: Answers, text: string) => a.put(text, utf8(text));
/** Slabs allowed for a bound of 1 MiB: 16 of 64 KiB, and 3 spare. */
const CAP_1MIB = 19 * 64 * KiB;

describe('Answers: the id store keeps its answers in slabs outside the JS heap', () => {
  it('gives back every answer as it was stored, multi-byte text included', () => {
    const a = new Answers(16 * MiB);
    const texts = ['{"id":"A"}', 'é', '日本語の応答', '🙂 and \u0000 and "quotes"', '', 'x'.repeat(4000)];
    const stored = texts.map((t) => store(a, t));
    for (const s of stored.slice(0, -1)) expect(typeof s).toBe('object');
    expect(stored.map(textOf)).toEqual(texts);
  });

  it('keeps an answer larger than a quarter of a slab as a string of its own', () => {
    const a = new Answers(16 * MiB); // slabs of 1 MiB
    const big = 'b'.repeat(256 * KiB + 1);
    expect(store(a, big)).toBe(big);
    expect(typeof store(a, 'b'.repeat(256 * KiB))).toBe('object');
  });

  it('writes a slab again once its answers are freed, so memory stays flat however many answers pass', () => {
    const a = new Answers(1 * MiB); // slabs of 64 KiB
    const frame = 'f'.repeat(1400);
    const held: Answer[] = [];
    for (let i = 0; i < 20_000; i++) {
      held.push(store(a, frame));
      // 400 answers (about 560 KiB) held at a time, oldest freed first, as the store releases them
      if (held.length > 400) a.free(held.shift() as Answer);
    }
    expect(a.allocated).toBeLessThanOrEqual(CAP_1MIB);
    expect(held.every((h) => typeof h === 'object' && textOf(h) === frame)).toBe(true);
  });

  it('never writes over an answer still held: one held answer keeps its slab out of use', () => {
    const a = new Answers(1 * MiB);
    const keep = store(a, 'kept answer');
    const rest: Answer[] = [];
    for (let i = 0; i < 5000; i++) {
      rest.push(store(a, `answer ${i} `.padEnd(1000, '.')));
      if (rest.length > 100) a.free(rest.shift() as Answer);
    }
    expect(textOf(keep)).toBe('kept answer');
    for (const [i, r] of rest.entries()) expect(textOf(r)).toBe(`answer ${4900 + i} `.padEnd(1000, '.'));
  });

  it('past its slabs (every one full of answers still held), keeps new answers as strings, and uses slabs again once freed', () => {
    const a = new Answers(1 * MiB); // 16 slabs of 64 KiB, 3 spare
    const frame = 'z'.repeat(16 * KiB);
    const held: Answer[] = [];
    for (let i = 0; i < 100; i++) held.push(store(a, frame));
    expect(a.allocated).toBe(CAP_1MIB);
    expect(held.filter((h) => typeof h === 'string').length).toBe(100 - 19 * 4);
    for (const h of held) a.free(h);
    expect(typeof store(a, frame)).toBe('object');
    expect(a.allocated).toBeLessThanOrEqual(CAP_1MIB);
  });

  it('compacts a slab when every slab holds a few long-lived answers among freed ones, so answers never fall back to strings while they fit the bound', () => {
    // One group's small answers live long (its share of the store is small, so none is
    // released), and each lands in a slab between another group's large ones, freed oldest first.
    const a = new Answers(1 * MiB);
    const quiet: { text: string; answer: Answer }[] = [];
    const noisy: Answer[] = [];
    for (let i = 0; i < 3000; i++) {
      const text = `{"quiet":${i}}`;
      quiet.push({ text, answer: store(a, text) });
      for (let j = 0; j < 4; j++) {
        noisy.push(store(a, 'B'.repeat(4 * KiB)));
        if (noisy.length > 200) a.free(noisy.shift() as Answer); // about 800 KiB held
      }
    }
    expect([...quiet.map((q) => q.answer), ...noisy].filter((h) => typeof h === 'string')).toEqual([]);
    expect(a.allocated).toBeLessThanOrEqual(CAP_1MIB);
    for (const q of quiet) expect(textOf(q.answer)).toBe(q.text);
    for (const n of noisy) expect(textOf(n)).toBe('B'.repeat(4 * KiB));
    expect(a.inSlabs).toBe(quiet.reduce((n, q) => n + utf8(q.text), 0) + noisy.length * 4 * KiB);
  });

  it('ignores an answer freed twice', () => {
    const a = new Answers(1 * MiB);
    const first = store(a, 'first');
    const second = store(a, 'second');
    a.free(first);
    a.free(first);
    expect(a.inSlabs).toBe(6);
    expect(textOf(store(a, 'third'))).toBe('third');
    expect(textOf(second)).toBe('second');
  });

  it('gives back empty slabs beyond a couple kept for reuse', () => {
    const a = new Answers(1 * MiB);
    const held = Array.from({ length: 40 }, () => store(a, 'q'.repeat(16 * KiB)));
    expect(a.allocated).toBe(10 * 64 * KiB);
    for (const h of held) a.free(h);
    // the slab being filled, and two empty ones
    expect(a.allocated).toBe(3 * 64 * KiB);
  });

  it.each([
    ['large answers, many kept as strings', 9000, 400],
    ['small answers, slabs compacted', 1500, 1500],
  ])('holds exactly the live answers through any order of stores and frees (property: %s)', (_name, maxLength, ops) => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ put: fc.string({ unit: 'grapheme', maxLength }) }), fc.record({ free: fc.nat() })), { maxLength: ops }),
        (ops) => {
          const a = new Answers(64 * KiB); // slabs of 64 KiB, at most 3
          const live: { text: string; answer: Answer }[] = [];
          for (const op of ops) {
            if ('put' in op) live.push({ text: op.put, answer: store(a, op.put) });
            else if (live.length > 0) a.free(live.splice(op.free % live.length, 1)[0]!.answer);
            for (const l of live) expect(textOf(l.answer)).toBe(l.text);
            expect(a.allocated).toBeLessThanOrEqual(3 * 64 * KiB);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
