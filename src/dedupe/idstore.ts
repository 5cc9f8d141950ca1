// The ids the bridge accepted, and what became of them: waiting, running, answered (with the
// answer), answered but the answer released, or interrupted by a restart. Keyed by (group, id)
// (see keys.ts); bounded by age, count and UTF-8 bytes; journaled when a Journal is given.
import type { Logger } from '../log/logger.js';
import { DEFAULT_GROUP } from '../config/endpoints.js';
import { Fifo } from './fifo.js';
import type { Journal, JournalRecord } from './journal.js';
import { keyOf, splitKey } from './keys.js';

export type IdState = 'queued' | 'running' | 'done' | 'expired' | 'interrupted';

export interface IdEntry {
  /** The store key, `<group>:<id>` (keyOf). */
  readonly id: string;
  /** The endpoint group that asked. */
  readonly group: string;
  readonly method: string;
  state: IdState;
  /** The COMMAND RESPONSE frame, while `done`. */
  frame: string | null;
  /** When it was accepted, or answered once `done`/`expired` (ms since the epoch). */
  at: number;
  /** The connection the latest request for this id arrived on (0: before this process, or no connection). */
  askedOn: number;
  /** The connection the answer last went out on, or null. */
  deliveredOn: number | null;
  /** Copies of the answer held for delivery or being written: while any is, the stored answer is kept. */
  pins: number;
  /** UTF-8 bytes counted for this entry: its key, and its answer while held. */
  bytes: number;
}

export interface IdStoreOptions {
  ttlMs: number;
  maxEntries: number;
  /** UTF-8 bytes of keys and stored answers at most. */
  maxBytes: number;
  journal: Journal | null;
  log: Logger;
  now?: () => number;
}

/** A journal is compacted when it is larger than twice its live records and at least this large. */
const COMPACT_FLOOR = 1 << 20;

const inFlight = (e: IdEntry) => e.state === 'queued' || e.state === 'running';
// Stryker disable next-line StringLiteral: Buffer.byteLength takes an empty encoding as UTF-8, the encoding named
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** A legacy record (written before ids were keyed by group): its id was bare in the default group, `<id>@<group>` in the others. */
function legacyKey(id: string, groups: ReadonlySet<string>): string {
  const at = id.lastIndexOf('@');
  if (at > 0) {
    const group = id.slice(at + 1);
    if (group !== DEFAULT_GROUP && groups.has(group)) return keyOf(group, id.slice(0, at));
  }
  return keyOf(DEFAULT_GROUP, id);
}

/** What one endpoint group holds in the store: bounds are enforced on the group that holds the most. */
interface Share {
  entries: number;
  keyBytes: number;
  answerBytes: number;
  /** Its entries in answer order, for releasing the oldest answers first (stale ones are skipped). */
  readonly answered: Fifo<IdEntry>;
  /** Its entries in acceptance order, for forgetting the oldest ids first (stale ones are skipped). */
  readonly order: Fifo<IdEntry>;
}

export class IdStore {
  readonly #entries = new Map<string, IdEntry>();
  /** Per endpoint group: a cloud that floods the store evicts its own ids and answers, not another group's. */
  readonly #shares = new Map<string, Share>();
  #bytes = 0;
  /** The part of #bytes that is keys. */
  #keyBytes = 0;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #journal: Journal | null;
  readonly #log: Logger;
  readonly #now: () => number;
  #compacting = false;
  #journalFailed = false;

  constructor(opts: IdStoreOptions) {
    this.#ttlMs = opts.ttlMs;
    this.#maxEntries = opts.maxEntries;
    this.#maxBytes = opts.maxBytes;
    this.#journal = opts.journal;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
  }

  /** Ids remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** @internal Entries held by the eviction lists (for tests: it must track size). */
  get listed(): number {
    let n = 0;
    for (const s of this.#shares.values()) n += s.order.length + s.answered.length;
    return n;
  }

  /** UTF-8 bytes of the keys and answers held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Rebuilds the store from journal records: a call started but never answered becomes
   * `interrupted`. Records of an earlier version (ids not yet keyed by group) are read with
   * the configured `groups`, and the next compaction rewrites them. Returns how many ids of
   * each state were restored, and how many legacy records were migrated.
   */
  // Stryker disable next-line ArrayDeclaration: the default group is never read from a legacy id's suffix, so naming it changes nothing
  restore(records: readonly JournalRecord[], groups: Iterable<string> = [DEFAULT_GROUP]): Record<IdState | 'migrated', number> {
    const known = new Set(groups);
    let migrated = 0;
    for (const r of records) {
      let key: string;
      if (r.g === undefined) {
        key = legacyKey(r.id, known);
        migrated++;
      } else {
        key = keyOf(r.g, r.id);
      }
      const e = this.#entries.get(key);
      if (r.t === 's') {
        if (!e) this.#add(this.#entry(key, r.m, 'interrupted', r.at));
      } else if (r.t === 'd') {
        if (e) this.#remove(e);
        const done = this.#entry(key, r.m, 'done', r.at);
        this.#add(done);
        this.#hold(done, r.f);
        this.#share(done.group).answered.push(done);
      } else if (!e || e.state !== 'done') {
        if (e) this.#remove(e);
        this.#add(this.#entry(key, r.m, 'expired', r.at));
      }
    }
    for (const e of this.#entries.values()) this.#share(e.group).order.push(e);
    this.sweep();
    this.#bound();
    const counts: Record<IdState | 'migrated', number> = { queued: 0, running: 0, done: 0, expired: 0, interrupted: 0, migrated };
    for (const e of this.#entries.values()) counts[e.state]++;
    return counts;
  }

  /** The entry of a key, unless it aged out. */
  get(key: string): IdEntry | undefined {
    const e = this.#entries.get(key);
    if (e && !inFlight(e) && e.pins === 0 && e.at + this.#ttlMs < this.#now()) {
      this.#remove(e);
      return undefined;
    }
    return e;
  }

  /** Remembers a new key, arrived on connection `askedOn`, as waiting in the queue (memory only: it has not run). */
  queue(key: string, method: string, askedOn: number): IdEntry {
    const e = this.#entry(key, method, 'queued', this.#now());
    e.askedOn = askedOn;
    this.#add(e);
    this.#share(e.group).order.push(e);
    this.#bound();
    return e;
  }

  /** Forgets a key that never ran (cancelled while waiting): a resend runs it. */
  forget(key: string): void {
    const e = this.#entries.get(key);
    if (e) this.#remove(e);
  }

  /**
   * The call is starting. With a journal, the promise settles once that is on disk, so a
   * restart knows it may have run; without one there is nothing to wait for (undefined).
   */
  start(e: IdEntry): Promise<void> | undefined {
    e.state = 'running';
    return this.#journal ? this.#append(this.#record('s', e, e.at)) : undefined;
  }

  /**
   * The id is answered with `frame`. With a journal, the promise settles once the answer is on
   * disk, and until then the id counts as running, so a repeat waits for this answer instead of
   * getting a second one; without a journal it is done at once (undefined).
   */
  finish(e: IdEntry, frame: string): Promise<void> | undefined {
    const at = this.#now();
    if (!this.#journal) {
      this.#done(e, frame, at);
      return undefined;
    }
    e.state = 'running';
    return this.#append(this.#record('d', e, at, frame)).then(() => this.#done(e, frame, at));
  }

  /**
   * Replaces an answered id's stored answer (one the cloud cannot take: it gets a bridge error
   * instead). Journaled without waiting: at worst a restart brings the old answer back.
   */
  replace(e: IdEntry, frame: string): void {
    if (this.#entries.get(e.id) !== e) return;
    if (e.state !== 'done' && e.state !== 'expired') return;
    // Stryker disable next-line ConditionalExpression: #release does nothing for an entry without an answer
    if (e.frame !== null) this.#release(e);
    e.state = 'done';
    this.#hold(e, frame);
    void this.#append(this.#record('d', e, e.at, frame));
  }

  /** A copy of the answer is held for delivery or being written: it is not released meanwhile. */
  pin(e: IdEntry): void {
    e.pins++;
  }

  /** That copy is written or dropped (an answer without an entry has nothing to unpin). */
  unpin(e: IdEntry | undefined): void {
    if (!e) return;
    if (e.pins > 0) e.pins--;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: #bound acts only past the bounds and never on a pinned entry, so calling it more often changes nothing
    if (e.pins === 0 && this.#bytes > this.#maxBytes) this.#bound();
  }

  #done(e: IdEntry, frame: string, at: number): void {
    // Reading a character makes V8 flatten a string built from pieces, so a stored answer
    // costs its own length rather than a tree of fragments (about a third less memory).
    frame.charCodeAt(0);
    e.state = 'done';
    e.at = at;
    this.#hold(e, frame);
    this.#share(e.group).answered.push(e);
    this.#bound();
  }

  /** Releases an answer to free memory; the id stays known, its resends are refused. */
  expire(key: string): void {
    const e = this.#entries.get(key);
    if (!e || e.state !== 'done') return;
    this.#release(e);
    e.state = 'expired';
  }

  /** Forgets answered ids older than ttlMs. */
  sweep(): void {
    const limit = this.#now() - this.#ttlMs;
    for (const e of this.#entries.values()) if (!inFlight(e) && e.pins === 0 && e.at < limit) this.#remove(e);
  }

  /** Every id as journal records, for compaction. */
  *snapshot(): Iterable<JournalRecord> {
    for (const e of this.#entries.values()) {
      if (e.state === 'running' || e.state === 'interrupted') yield this.#record('s', e, e.at);
      else if (e.state === 'done') yield this.#record('d', e, e.at, e.frame ?? '');
      else if (e.state === 'expired') yield this.#record('e', e, e.at);
    }
  }

  /** Rewrites the journal with the live ids (done at start, and when it has grown past twice their size). */
  async compact(): Promise<void> {
    if (!this.#journal || this.#compacting) return;
    this.#compacting = true;
    try {
      await this.#journal.compact(() => this.snapshot());
    } finally {
      this.#compacting = false;
    }
  }

  #entry(key: string, method: string, state: IdState, at: number): IdEntry {
    return { id: key, group: splitKey(key).group, method, state, frame: null, at, askedOn: 0, deliveredOn: null, pins: 0, bytes: 0 };
  }

  #share(group: string): Share {
    let s = this.#shares.get(group);
    if (!s) this.#shares.set(group, (s = { entries: 0, keyBytes: 0, answerBytes: 0, answered: new Fifo(), order: new Fifo() }));
    return s;
  }

  /** The group holding the most of `what`. */
  #heaviest(what: (s: Share) => number): Share | undefined {
    let top: Share | undefined;
    // Stryker disable next-line EqualityOperator: a tie may go to either group
    for (const s of this.#shares.values()) if (!top || what(s) > what(top)) top = s;
    return top;
  }

  #record(t: 's' | 'e', e: IdEntry, at: number): JournalRecord;
  #record(t: 'd', e: IdEntry, at: number, frame: string): JournalRecord;
  #record(t: 's' | 'd' | 'e', e: IdEntry, at: number, frame?: string): JournalRecord {
    const { group, id } = splitKey(e.id);
    // Stryker disable next-line ConditionalExpression: a record written with an undefined frame is the same JSON line
    return t === 'd' ? { t, g: group, id, m: e.method, at, f: frame as string } : { t, g: group, id, m: e.method, at };
  }

  #add(e: IdEntry): void {
    e.bytes = utf8(e.id);
    this.#bytes += e.bytes;
    this.#keyBytes += e.bytes;
    const s = this.#share(e.group);
    s.entries++;
    s.keyBytes += e.bytes;
    this.#entries.set(e.id, e);
  }

  #hold(e: IdEntry, frame: string): void {
    const size = utf8(frame);
    e.frame = frame;
    e.bytes += size;
    this.#bytes += size;
    this.#share(e.group).answerBytes += size;
  }

  #release(e: IdEntry): void {
    // Stryker disable next-line ConditionalExpression: without an answer the size released is 0 either way
    if (e.frame === null) return;
    const size = e.bytes - utf8(e.id);
    e.bytes -= size;
    this.#bytes -= size;
    this.#share(e.group).answerBytes -= size;
    e.frame = null;
  }

  #remove(e: IdEntry): void {
    // Stryker disable next-line ConditionalExpression: every caller passes an entry still in the map (forget reads it from there, #forgetOldest checks)
    if (this.#entries.get(e.id) !== e) return;
    this.#entries.delete(e.id);
    this.#release(e);
    this.#bytes -= e.bytes;
    this.#keyBytes -= e.bytes;
    const s = this.#share(e.group);
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
  #bound(): void {
    const live = (e: IdEntry) => this.#entries.get(e.id) === e;
    // Entries forgotten by age or by hand leave the lists once they reach the front.
    for (const s of this.#shares.values()) {
      for (let f = s.order.peek(); f && !live(f); f = s.order.peek()) s.order.shift();
      // Stryker disable next-line ConditionalExpression: an entry that is not done is skipped by #releaseOldest all the same
      for (let f = s.answered.peek(); f && !(live(f) && f.state === 'done'); f = s.answered.peek()) s.answered.shift();
    }
    while (this.#bytes > this.#maxBytes) {
      const s = this.#heaviest((x) => x.answerBytes);
      // Stryker disable next-line ConditionalExpression,LogicalOperator: bytes come from groups, and a group without answer bytes has nothing #releaseOldest could release (it says so)
      if (!s || s.answerBytes === 0 || !this.#releaseOldest(s, live)) break;
    }
    // Ids are forgotten for bytes only when the ids alone pass the bound: answers still held
    // for delivery may exceed it for a while (the outbox bounds them), and must not cost ids.
    while (this.#entries.size > this.#maxEntries || this.#keyBytes > this.#maxBytes) {
      // Stryker disable next-line EqualityOperator: at exactly maxEntries with bytes over, either measure names a group that holds ids; which one is a fairness choice
      const s = this.#entries.size > this.#maxEntries ? this.#heaviest((x) => x.entries) : this.#heaviest((x) => x.keyBytes);
      if (!s || !this.#forgetOldest(s, live)) break;
    }
  }

  /** Releases the oldest answer of a group that is not held for delivery; false when there is none. */
  #releaseOldest(s: Share, live: (e: IdEntry) => boolean): boolean {
    // Stryker disable next-line EqualityOperator: one more try looks at an entry already looked at
    for (let tries = s.answered.length; tries > 0; tries--) {
      const e = s.answered.shift() as IdEntry;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: expiring an id that is gone or no longer done does nothing (expire checks), and the loop moves on
      if (!live(e) || e.state !== 'done') continue;
      if (e.pins > 0) {
        s.answered.push(e);
        continue;
      }
      this.expire(e.id);
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
      this.#remove(e);
      return true;
    }
    return false;
  }

  async #append(rec: JournalRecord): Promise<void> {
    const journal = this.#journal;
    if (!journal) return;
    try {
      await journal.append(rec);
      if (this.#journalFailed) this.#log.info('state journal writable again');
      this.#journalFailed = false;
    } catch (err) {
      if (!this.#journalFailed) {
        this.#log.error({ err, code: 'NBW_ERR_JOURNAL_WRITE' }, 'cannot write the state journal; ids are kept in memory only until it works again');
      }
      this.#journalFailed = true;
      return;
    }
    // Stryker disable next-line ArithmeticOperator,EqualityOperator: where exactly compaction starts trades disk for work; the tests pin that it happens past twice the live records and the floor, not the byte it starts at
    const live = this.#bytes + this.#entries.size * 128;
    // Stryker disable next-line ArithmeticOperator,EqualityOperator: as above
    if (journal.bytes > Math.max(2 * live, COMPACT_FLOOR)) void this.compact().catch((err: unknown) => this.#log.error({ err }, 'journal compaction failed'));
  }
}
