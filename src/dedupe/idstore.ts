// The ids the bridge accepted, and what became of them: waiting, running, answered (with the
// answer), answered but the answer released, or interrupted by a restart. Keyed by (group, id)
// (see keys.ts); bounded by age, count and UTF-8 bytes; journaled when a Journal is given.
import type { Logger } from '../log/logger.js';
import { DEFAULT_GROUP } from '../config/endpoints.js';
import { Entry, inFlight, type IdEntry, type IdState } from './entry.js';
import type { Journal, JournalRecord } from './journal.js';
import { Ledger } from './ledger.js';
import { keyOf, splitKey } from './keys.js';
import { CODE } from '../errors.js';

export type { IdEntry, IdState };

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


/** A legacy record (written before ids were keyed by group): its id was bare in the default group, `<id>@<group>` in the others. */
function legacyKey(id: string, groups: ReadonlySet<string>): string {
  const at = id.lastIndexOf('@');
  if (at > 0) {
    const group = id.slice(at + 1);
    if (group !== DEFAULT_GROUP && groups.has(group)) return keyOf(group, id.slice(0, at));
  }
  return keyOf(DEFAULT_GROUP, id);
}

export class IdStore {
  readonly #l: Ledger;
  readonly #ttlMs: number;
  readonly #maxBytes: number;
  readonly #journal: Journal | null;
  readonly #log: Logger;
  readonly #now: () => number;
  #compacting = false;
  #journalFailed = false;

  constructor(opts: IdStoreOptions) {
    this.#ttlMs = opts.ttlMs;
    this.#maxBytes = opts.maxBytes;
    this.#l = new Ledger(opts.maxEntries, opts.maxBytes);
    this.#journal = opts.journal;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
  }

  /** Ids remembered. */
  get size(): number {
    return this.#l.entries.size;
  }

  /** @internal Entries held by the eviction lists (for tests: it must track size). */
  get listed(): number {
    let n = 0;
    for (const s of this.#l.shares.values()) n += s.order.length + s.answered.length;
    return n;
  }

  /** UTF-8 bytes of the keys and answers held. */
  get bytes(): number {
    return this.#l.bytes;
  }

  /** Bytes of the slabs that hold answers outside the JS heap (see answers.ts). */
  get slabBytes(): number {
    return this.#l.answers.allocated;
  }

  /** Bytes of the answers held in those slabs (the rest are strings of their own). */
  get answerBytesInSlabs(): number {
    return this.#l.answers.inSlabs;
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
      const e = this.#l.entries.get(key);
      if (r.t === 's') {
        if (!e) this.#l.add(this.#entry(key, r.m, 'interrupted', r.at));
      } else if (r.t === 'd') {
        if (e) this.#l.remove(e);
        const done = this.#entry(key, r.m, 'done', r.at);
        this.#l.add(done);
        this.#l.hold(done, r.f);
        this.#l.share(done.group).answered.push(done);
      } else if (!e || e.state !== 'done') {
        if (e) this.#l.remove(e);
        this.#l.add(this.#entry(key, r.m, 'expired', r.at));
      }
    }
    for (const e of this.#l.entries.values()) this.#l.share(e.group).order.push(e);
    this.sweep();
    this.#l.bound(this.#expireEntry);
    const counts: Record<IdState | 'migrated', number> = { queued: 0, running: 0, done: 0, expired: 0, interrupted: 0, migrated };
    for (const e of this.#l.entries.values()) counts[e.state]++;
    return counts;
  }

  /** The entry of a key, unless it aged out. */
  get(key: string): IdEntry | undefined {
    const e = this.#l.entries.get(key);
    if (e && !inFlight(e) && e.pins === 0 && e.at + this.#ttlMs < this.#now()) {
      this.#l.remove(e);
      return undefined;
    }
    return e;
  }

  /** Remembers a new key, arrived on connection `askedOn`, as waiting in the queue (memory only: it has not run). */
  queue(key: string, method: string, askedOn: number): IdEntry {
    const e = this.#entry(key, method, 'queued', this.#now());
    e.askedOn = askedOn;
    this.#l.add(e);
    this.#l.share(e.group).order.push(e);
    this.#l.bound(this.#expireEntry);
    return e;
  }

  /** Forgets a key that never ran (cancelled while waiting): a resend runs it. */
  forget(key: string): void {
    const e = this.#l.entries.get(key);
    if (e) this.#l.remove(e);
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
    if (this.#l.entries.get(e.id) !== e) return;
    if (e.state !== 'done' && e.state !== 'expired') return;
    // Stryker disable next-line ConditionalExpression: #release does nothing for an entry without an answer
    if (e.answer !== null) this.#l.release(e);
    e.state = 'done';
    this.#l.hold(e, frame);
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
    if (e.pins === 0 && this.#l.bytes > this.#maxBytes) this.#l.bound(this.#expireEntry);
  }

  #done(e: IdEntry, frame: string, at: number): void {
    e.state = 'done';
    e.at = at;
    this.#l.hold(e, frame);
    this.#l.share(e.group).answered.push(e);
    this.#l.bound(this.#expireEntry);
  }

  readonly #expireEntry = (e: IdEntry): void => this.expire(e.id);

  /** Releases an answer to free memory; the id stays known, its resends are refused. */
  expire(key: string): void {
    const e = this.#l.entries.get(key);
    if (!e || e.state !== 'done') return;
    this.#l.release(e);
    e.state = 'expired';
  }

  /** Forgets answered ids older than ttlMs. */
  sweep(): void {
    const limit = this.#now() - this.#ttlMs;
    for (const e of this.#l.entries.values()) if (!inFlight(e) && e.pins === 0 && e.at < limit) this.#l.remove(e);
  }

  /** Every id as journal records, for compaction. */
  *snapshot(): Iterable<JournalRecord> {
    for (const e of this.#l.entries.values()) {
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
    // One string per group, shared by its entries (a slice of each key would be a copy per id).
    return new Entry(key, this.#l.share(splitKey(key).group).name, method, state, at);
  }

  #record(t: 's' | 'e', e: IdEntry, at: number): JournalRecord;
  #record(t: 'd', e: IdEntry, at: number, frame: string): JournalRecord;
  #record(t: 's' | 'd' | 'e', e: IdEntry, at: number, frame?: string): JournalRecord {
    const { group, id } = splitKey(e.id);
    // Stryker disable next-line ConditionalExpression: a record written with an undefined frame is the same JSON line
    return t === 'd' ? { t, g: group, id, m: e.method, at, f: frame as string } : { t, g: group, id, m: e.method, at };
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
        this.#log.error({ err, code: CODE.NBW_ERR_JOURNAL_WRITE }, 'cannot write the state journal; ids are kept in memory only until it works again');
      }
      this.#journalFailed = true;
      return;
    }
    // Stryker disable next-line ArithmeticOperator,EqualityOperator: where exactly compaction starts trades disk for work; the tests pin that it happens past twice the live records and the floor, not the byte it starts at
    const live = this.#l.bytes + this.#l.entries.size * 128;
    // Stryker disable next-line ArithmeticOperator,EqualityOperator: as above
    if (journal.bytes > Math.max(2 * live, COMPACT_FLOOR)) void this.compact().catch((err: unknown) => this.#log.error({ err }, 'journal compaction failed'));
  }
}
