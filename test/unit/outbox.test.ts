import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/bridge/outbox.js';

describe('Outbox', () => {
  it('gives everything back in completion order, even when a failed send comes back late', () => {
    const o = new Outbox(1000);
    o.hold({ seq: 1, id: 'a', frame: 'A' });
    o.hold({ seq: 3, id: 'c', frame: 'C' });
    o.hold({ seq: 2, id: 'b', frame: 'B' });
    expect(o.size).toBe(3);
    expect(o.takeAll().map((h) => h.id)).toEqual(['a', 'b', 'c']);
    expect(o.size).toBe(0);
    expect(o.bytes).toBe(0);
  });

  it('drops the oldest past maxBytes and says which', () => {
    const o = new Outbox(10);
    expect(o.hold({ seq: 1, id: 'a', frame: '1234' })).toEqual([]);
    expect(o.hold({ seq: 2, id: 'b', frame: '5678' })).toEqual([]);
    expect(o.hold({ seq: 3, id: 'c', frame: '9abc' }).map((h) => h.id)).toEqual(['a']);
    expect(o.bytes).toBe(8);
    expect(o.hold({ seq: 4, id: 'd', frame: 'x'.repeat(20) }).map((h) => h.id)).toEqual(['b', 'c', 'd']);
    expect(o.size).toBe(0);
  });

  it('keeps exactly maxBytes, and drops past it', () => {
    const box = new Outbox(10);
    expect(box.hold({ seq: 1, id: 'a', frame: '12345' })).toEqual([]);
    expect(box.hold({ seq: 2, id: 'b', frame: '12345' })).toEqual([]);
    expect(box.hold({ seq: 3, id: 'c', frame: '1' }).map((h) => h.id)).toEqual(['a']);
  });
});
