// The id store's accounting: the entries by key, and what each endpoint group holds of them
// (ids, key bytes, answer bytes), with the lists that give its oldest answers and ids. Bounds are
// enforced on the group that holds the most, so one group's cloud cannot push out another's ids.
import { Answers } from './answers.js';
import { Fifo } from './fifo.js';
import { inFlight, type IdEntry } from './entry.js';

// Stryker disable next-line StringLiteral: Buffer.byteLength takes an empty encoding as UTF-8, the encoding named
export const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** What one endpoint group holds in the store: bounds are enforced on the group that holds the most. */
export interface Share {
  /** The group's name: the one string its entries share. */
  readonly name: string;
  entries: number;
  keyBytes: number;
  answerBytes: number;
  /** Its entries in answer order, for releasing the oldest answers first (stale ones are skipped). */
  readonly answered: Fifo<IdEntry>;
  /** Its entries in acceptance order, for forgetting the oldest ids first (stale ones are skipped). */
  readonly order: Fifo<IdEntry>;
}

export class Ledger {
  readonly entries = new Map<string, IdEntry>();
  /** Per endpoint group: a cloud that floods the store evicts its own ids and answers, not another group's. */
  readonly shares = new Map<string, Share>();
  /** UTF-8 bytes of the keys and answers held. */
  bytes = 0;
  /** The part of bytes that is keys. */
  keyBytes = 0;
  /** Where the answers are kept. */
  readonly answers: Answers;
  readonly #maxEntries: number;
  readonly #maxBytes: number;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.answers = new Answers(maxBytes);
  }

  /** A group's share (made on first use). */
  share(group: string): Share {
    let s = this.shares.get(group);
    if (!s) this.shares.set(group, (s = { name: group, entries: 0, keyBytes: 0, answerBytes: 0, answered: new Fifo(), order: new Fifo() }));
    return s;
  }

  /** The group holding the most of `what`. */
  #heaviest(what: (s: Share) => number): Share | undefined {
    let top: Share | undefined;
    // Stryker disable next-line EqualityOperator: a tie may go to either group
    for (const s of this.shares.values()) if (!top || what(s) > what(top)) top = s;
    return top;
  }

  /** Counts a new entry's key. */
  add(e: IdEntry): void {
    e.bytes = utf8(e.id);
    this.bytes += e.bytes;
    this.keyBytes += e.bytes;
    const s = this.share(e.group);
    s.entries++;
    s.keyBytes += e.bytes;
    this.entries.set(e.id, e);
  }

  /** Counts an answer the entry now holds. */
  hold(e: IdEntry, frame: string): void {
    const size = utf8(frame);
    e.answer = this.answers.put(frame, size);
    e.bytes += size;
    this.bytes += size;
    this.share(e.group).answerBytes += size;
  }

  /** Drops an entry's answer, and its bytes. */
  release(e: IdEntry): void {
    // Stryker disable next-line ConditionalExpression: without an answer the size released is 0 either way
    if (e.answer === null) return;
    const size = e.bytes - utf8(e.id);
    e.bytes -= size;
    this.bytes -= size;
    this.share(e.group).answerBytes -= size;
    this.answers.free(e.answer);
    e.answer = null;
  }

  /** Forgets an entry. */
  remove(e: IdEntry): void {
    // Stryker disable next-line ConditionalExpression: every caller passes an entry still in the map (forget reads it from there, #forgetOldest checks)
    if (this.entries.get(e.id) !== e) return;
    this.entries.delete(e.id);
    this.release(e);
    this.bytes -= e.bytes;
    this.keyBytes -= e.bytes;
    const s = this.share(e.group);
    s.entries--;
    s.keyBytes -= e.bytes;
    e.bytes = 0;
  }

  /**
   * Keeps bytes and count within bounds: the oldest answers are released first, then, if the
   * ids alone are too many or too large, the oldest ids forgotten; never an id in flight, and
   * never an answer still held for delivery. Each step takes from the endpoint group that holds
   * the most of what is over, so one group's cloud cannot push out another group's ids.
   */
  bound(expire: (e: IdEntry) => void): void {
    const live = (e: IdEntry) => this.entries.get(e.id) === e;
    // Entries forgotten by age or by hand leave the lists once they reach the front.
    for (const s of this.shares.values()) {
      for (let f = s.order.peek(); f && !live(f); f = s.order.peek()) s.order.shift();
      // Stryker disable next-line ConditionalExpression: an entry that is not done is skipped by #releaseOldest all the same
      for (let f = s.answered.peek(); f && !(live(f) && f.state === 'done'); f = s.answered.peek()) s.answered.shift();
    }
    while (this.bytes > this.#maxBytes) {
      const s = this.#heaviest((x) => x.answerBytes);
      // Stryker disable next-line ConditionalExpression,LogicalOperator: bytes come from groups, and a group without answer bytes has nothing #releaseOldest could release (it says so)
      if (!s || s.answerBytes === 0 || !this.#releaseOldest(s, live, expire)) break;
    }
    // Ids are forgotten for bytes only when the ids alone pass the bound: answers still held
    // for delivery may exceed it for a while (the outbox bounds them), and must not cost ids.
    while (this.entries.size > this.#maxEntries || this.keyBytes > this.#maxBytes) {
      // Stryker disable next-line EqualityOperator: at exactly maxEntries with bytes over, either measure names a group that holds ids; which one is a fairness choice
      const s = this.entries.size > this.#maxEntries ? this.#heaviest((x) => x.entries) : this.#heaviest((x) => x.keyBytes);
      if (!s || !this.#forgetOldest(s, live)) break;
    }
  }

  /** Releases the oldest answer of a group that is not held for delivery; false when there is none. */
  #releaseOldest(s: Share, live: (e: IdEntry) => boolean, expire: (e: IdEntry) => void): boolean {
    // Stryker disable next-line EqualityOperator: one more try looks at an entry already looked at
    for (let tries = s.answered.length; tries > 0; tries--) {
      const e = s.answered.shift() as IdEntry;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: expiring an id that is gone or no longer done does nothing (expire checks), and the loop moves on
      if (!live(e) || e.state !== 'done') continue;
      if (e.pins > 0) {
        s.answered.push(e);
        continue;
      }
      expire(e);
      return true;
    }
    return false;
  }

  /** Forgets the oldest id of a group that is neither in flight nor held; false when there is none. */
  #forgetOldest(s: Share, live: (e: IdEntry) => boolean): boolean {
    // Oldest first, from a list of its own: walking the Map from its start would step over every
    // slot deleted before, on each call. Ids in flight or held go to the back.
    // Stryker disable next-line EqualityOperator: one more try looks at an entry already looked at
    for (let tries = s.order.length; tries > 0; tries--) {
      const e = s.order.shift() as IdEntry;
      // Stryker disable next-line ConditionalExpression: removing an entry no longer in the map does nothing (#remove checks)
      if (!live(e)) continue;
      if (inFlight(e) || e.pins > 0) {
        s.order.push(e);
        continue;
      }
      this.remove(e);
      return true;
    }
    return false;
  }
}
