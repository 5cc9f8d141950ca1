// The ids the bridge accepted, and what became of them: waiting, running, answered (with the
// answer), answered but the answer released, or interrupted by a restart. Bounded by age,
// count and bytes; journaled when a Journal is given.
import type { Logger } from '../log/logger.js';
import { Fifo } from './fifo.js';
import type { Journal, JournalRecord } from './journal.js';

export type IdState = 'queued' | 'running' | 'done' | 'expired' | 'interrupted';

export interface IdEntry {
  readonly id: string;
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
}

export interface IdStoreOptions {
  ttlMs: number;
  maxEntries: number;
  /** Bytes of stored answers at most. */
  maxBytes: number;
  journal: Journal | null;
  log: Logger;
  now?: () => number;
}

/** A journal is compacted when it is larger than twice its live records and at least this large. */
const COMPACT_FLOOR = 1 << 20;

const inFlight = (e: IdEntry) => e.state === 'queued' || e.state === 'running';

export class IdStore {
  readonly #entries = new Map<string, IdEntry>();
  /** Entries in answer order, for releasing the oldest answers first (stale ones are skipped). */
  readonly #answered = new Fifo<IdEntry>();
  /** Entries in acceptance order, for forgetting the oldest ids first (stale ones are skipped). */
  readonly #order = new Fifo<IdEntry>();
  #bytes = 0;
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
    return this.#order.length + this.#answered.length;
  }

  /** Bytes of answers held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Rebuilds the store from journal records: a call started but never answered becomes
   * `interrupted`. Returns how many ids of each state were restored.
   */
  restore(records: readonly JournalRecord[]): Record<IdState, number> {
    for (const r of records) {
      const e = this.#entries.get(r.id);
      if (r.t === 's') {
        if (!e) this.#entries.set(r.id, { id: r.id, method: r.m, state: 'interrupted', frame: null, at: r.at, askedOn: 0, deliveredOn: null });
      } else if (r.t === 'd') {
        if (e?.frame) this.#bytes -= e.frame.length;
        this.#entries.delete(r.id);
        const done: IdEntry = { id: r.id, method: r.m, state: 'done', frame: r.f, at: r.at, askedOn: 0, deliveredOn: null };
        this.#entries.set(r.id, done);
        this.#bytes += r.f.length;
        this.#answered.push(done);
      } else if (!e || e.state !== 'done') {
        this.#entries.delete(r.id);
        this.#entries.set(r.id, { id: r.id, method: r.m, state: 'expired', frame: null, at: r.at, askedOn: 0, deliveredOn: null });
      }
    }
    for (const e of this.#entries.values()) this.#order.push(e);
    this.sweep();
    this.#bound();
    const counts: Record<IdState, number> = { queued: 0, running: 0, done: 0, expired: 0, interrupted: 0 };
    for (const e of this.#entries.values()) counts[e.state]++;
    return counts;
  }

  /** The entry of an id, unless it aged out. */
  get(id: string): IdEntry | undefined {
    const e = this.#entries.get(id);
    if (e && !inFlight(e) && e.at + this.#ttlMs < this.#now()) {
      this.#remove(e);
      return undefined;
    }
    return e;
  }

  /** Remembers a new id, arrived on connection `askedOn`, as waiting in the queue (memory only: it has not run). */
  queue(id: string, method: string, askedOn: number): IdEntry {
    const e: IdEntry = { id, method, state: 'queued', frame: null, at: this.#now(), askedOn, deliveredOn: null };
    this.#entries.set(id, e);
    this.#order.push(e);
    this.#bound();
    return e;
  }

  /** Forgets an id that never ran (cancelled while waiting): a resend runs it. */
  forget(id: string): void {
    const e = this.#entries.get(id);
    if (e) this.#remove(e);
  }

  /**
   * The call is starting. With a journal, the promise settles once that is on disk, so a
   * restart knows it may have run; without one there is nothing to wait for (undefined).
   */
  start(e: IdEntry): Promise<void> | undefined {
    e.state = 'running';
    return this.#journal ? this.#append({ t: 's', id: e.id, m: e.method, at: e.at }) : undefined;
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
    return this.#append({ t: 'd', id: e.id, m: e.method, at, f: frame }).then(() => this.#done(e, frame, at));
  }

  #done(e: IdEntry, frame: string, at: number): void {
    // Reading a character makes V8 flatten a string built from pieces, so a stored answer
    // costs its own length rather than a tree of fragments (about a third less memory).
    frame.charCodeAt(0);
    e.state = 'done';
    e.frame = frame;
    e.at = at;
    this.#bytes += frame.length;
    this.#answered.push(e);
    this.#bound();
  }

  /** Releases an answer to free memory; the id stays known, its resends are refused. */
  expire(id: string): void {
    const e = this.#entries.get(id);
    if (!e || e.state !== 'done') return;
    this.#bytes -= e.frame?.length ?? 0;
    e.frame = null;
    e.state = 'expired';
  }

  /** Forgets answered ids older than ttlMs. */
  sweep(): void {
    const limit = this.#now() - this.#ttlMs;
    for (const e of this.#entries.values()) if (!inFlight(e) && e.at < limit) this.#remove(e);
  }

  /** Every id as journal records, for compaction. */
  *snapshot(): Iterable<JournalRecord> {
    for (const e of this.#entries.values()) {
      if (e.state === 'running' || e.state === 'interrupted') yield { t: 's', id: e.id, m: e.method, at: e.at };
      else if (e.state === 'done') yield { t: 'd', id: e.id, m: e.method, at: e.at, f: e.frame ?? '' };
      else if (e.state === 'expired') yield { t: 'e', id: e.id, m: e.method, at: e.at };
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

  #remove(e: IdEntry): void {
    this.#entries.delete(e.id);
    if (e.frame) this.#bytes -= e.frame.length;
    e.frame = null;
  }

  /** Keeps count and bytes within bounds: oldest answers released first, oldest ids forgotten first, never one in flight. */
  #bound(): void {
    // Entries forgotten by age or by hand leave the lists once they reach the front.
    const live = (e: IdEntry) => this.#entries.get(e.id) === e;
    for (let f = this.#order.peek(); f && !live(f); f = this.#order.peek()) this.#order.shift();
    for (let f = this.#answered.peek(); f && !(live(f) && f.state === 'done'); f = this.#answered.peek()) this.#answered.shift();
    while (this.#bytes > this.#maxBytes) {
      const e = this.#answered.shift();
      if (e === undefined) break;
      if (e.state === 'done' && this.#entries.get(e.id) === e) this.expire(e.id);
    }
    // Oldest first, from a list of its own: walking the Map from its start would step over every
    // slot deleted before, on each call. Ids in flight are never forgotten; they go to the back.
    for (let tries = this.#order.length; this.#entries.size > this.#maxEntries && tries > 0; tries--) {
      const e = this.#order.shift();
      if (e === undefined) break;
      if (this.#entries.get(e.id) !== e) continue;
      if (inFlight(e)) this.#order.push(e);
      else this.#remove(e);
    }
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
    const live = this.#bytes + this.#entries.size * 128;
    if (journal.bytes > Math.max(2 * live, COMPACT_FLOOR)) void this.compact().catch((err: unknown) => this.#log.error({ err }, 'journal compaction failed'));
  }
}
