// Delivers answers: on the connection that is up, or held in the outbox until the next one
// is; stops new REST calls while the cloud reads slower than answers are produced.
//
// Nothing is ever sent from inside a write callback. A failed write only marks its answer;
// when that connection's close is reported, every answer that was not written whole goes back
// through delivery (the next connection, or the outbox until there is one). An answer the
// cloud refuses to take (it closes with 1009, or the connection breaks twice while it is being
// written) is replaced by a bridge error, so it never comes back as a poison pill.
import { CODE, AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import { encodeErrorResponse } from '../protocol/encode.js';
import type { IdEntry, IdStore } from '../dedupe/idstore.js';
import { splitKey } from '../dedupe/keys.js';
import { Backpressure, type Throttle } from './backpressure.js';
import { CLEAN, GRACE_MS, isHeld, MAX_STRIKES, STRIKE_FLOOR, STRIKES, TOO_BIG, type ClosedConnection, type OnWire, type Outlet } from './wire.js';
import type { Held, Outbox } from './outbox.js';

export type { ClosedConnection, Outlet, Throttle };
export { GRACE_MS, STRIKE_FLOOR };

export interface CourierOptions {
  outlet: Outlet;
  outbox: Outbox;
  store: IdStore;
  throttle: Throttle;
  maxBufferedBytes: number;
  log: Logger;
  telemetry?: Telemetry;
  /** Name the error code in the bridge's own answers (protocol.extensions); on by default. */
  extensions?: boolean;
}

export class Courier {
  readonly #outlet: Outlet;
  readonly #outbox: Outbox;
  readonly #store: IdStore;
  /** Holds back new REST calls while the cloud reads too slowly. */
  readonly #pressure: Backpressure;
  readonly #log: Logger;
  readonly #telemetry: Telemetry;
  readonly #extensions: boolean;
  #seq = 0;
  /** Answers handed to each connection and not yet written whole. */
  readonly #wire = new Map<number, Set<OnWire>>();
  /** Keys of answers that were being written when a connection broke, and how often. */
  readonly #strikes = new Map<string, number>();
  /** Copies of each answer handed to a connection and not yet written whole. */
  readonly #writing = new Map<IdEntry, number>();
  /** Answers written whole on each connection, held in the store until the cloud proves it read them. */
  readonly #unproven = new Map<number, Set<IdEntry>>();
  /** Answers whose connection broke before that proof: held until GRACE_MS after the next connection is up. */
  // Stryker disable next-line ArrayDeclaration: unpinning something that is no entry does nothing
  #graced: IdEntry[] = [];

  constructor(opts: CourierOptions) {
    this.#outlet = opts.outlet;
    this.#outbox = opts.outbox;
    this.#store = opts.store;
    this.#log = opts.log;
    this.#pressure = new Backpressure(opts.throttle, opts.maxBufferedBytes, () => this.#outlet.bufferedAmount, opts.log);
    this.#telemetry = opts.telemetry ?? NO_TELEMETRY;
    // Stryker disable next-line LogicalOperator: left undefined, the encoder takes its own default, which is the same
    this.#extensions = opts.extensions ?? true;
  }

  /** True while REST calls are held back because the cloud reads too slowly. */
  get throttled(): boolean {
    return this.#pressure.on;
  }

  /** Sends an answer now, or holds it until a connection is ready. `entry` is the key's store entry, if it has one. */
  deliver(key: string, frame: string, entry?: IdEntry): void {
    this.#send({ seq: ++this.#seq, id: key, frame, entry }, entry);
  }

  /** Number of the current connection. */
  get connection(): number {
    return this.#outlet.connection;
  }

  /** Answers handed to a connection and not written yet (for tests and shutdown). */
  get onWire(): number {
    let n = 0;
    for (const set of this.#wire.values()) n += set.size;
    return n;
  }

  /**
   * True when a repeat of this id needs no answer of its own: the id was last asked for on an
   * earlier connection and its answer already went out, unasked, on this one. Right after a
   * reconnect the cloud resends what it has not seen answered, crossing answers on their way.
   */
  crossedOnTheWay(entry: IdEntry): boolean {
    const conn = this.#outlet.connection;
    return this.#outlet.ready && entry.deliveredOn === conn && entry.askedOn < conn;
  }

  /**
   * True while a copy of the answer is being written to the current connection: a cloud that
   * repeats an id without reading must not make the bridge queue a copy per repeat.
   */
  onItsWay(entry: IdEntry): boolean {
    return (this.#writing.get(entry) ?? 0) > 0 && entry.deliveredOn === this.#outlet.connection;
  }

  /** A connection became ready: everything held goes out, in completion order. */
  flush(): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a timer that unpins nothing changes nothing
    if (this.#graced.length > 0) {
      const graced = this.#graced;
      // Stryker disable next-line ArrayDeclaration: unpinning something that is no entry does nothing
      this.#graced = [];
      setTimeout(() => {
        for (const e of graced) this.#store.unpin(e);
      }, GRACE_MS).unref();
    }
    const held = this.#outbox.takeAll();
    // Stryker disable next-line ConditionalExpression: only decides whether a log line is written
    if (held.length) this.#log.info({ answers: held.length }, 'sending answers held while no connection was up');
    for (const item of held) {
      this.#store.unpin(item.entry);
      this.#send(item, item.entry);
    }
  }

  /** The connection went down: nothing is buffered toward it any more. */
  down(): void {
    this.#pressure.release();
  }

  /**
   * A connection that carried answers is closed: every answer not written whole on it goes
   * out again (next connection, or the outbox); one the cloud refused gets a bridge error instead.
   */
  closed(info: ClosedConnection): void {
    const wire = [...(this.#wire.get(info.connection) ?? [])];
    this.#wire.delete(info.connection);
    const unproven = this.#unproven.get(info.connection);
    this.#unproven.delete(info.connection);
    if (unproven) this.#graced.push(...unproven);
    const tag = info.largest?.tag;
    const refused = info.peerCode === TOO_BIG && isHeld(tag) ? tag : null;
    // A connection that broke (no clean close, and no 1009 naming the answer it refused) while
    // answers were being written counts against the largest of them (of at least STRIKE_FLOOR):
    // the likeliest one the cloud choked on; the rest go out again as they are.
    const broke = refused === null && !CLEAN.has(Number(info.peerCode));
    let suspect: OnWire | null = null;
    for (const w of wire) {
      if (!broke || w.item.frame.length < STRIKE_FLOOR) continue;
      // Stryker disable next-line EqualityOperator: of two answers of the same size, either is as likely the one the cloud choked on
      if (suspect === null || w.item.frame.length > suspect.item.frame.length) suspect = w;
    }
    for (const w of wire) {
      w.settled = true;
      if (w.entry) {
        this.#written1(w.entry);
        this.#store.unpin(w.entry);
        if (w.entry.deliveredOn === info.connection) w.entry.deliveredOn = null;
      }
    }
    if (refused) this.#undeliverable(refused, refused.entry, 'the cloud closed the connection with 1009 (message too big) when it was sent');
    for (const w of wire) {
      if (w.item === refused) continue;
      if (w === suspect) {
        const n = (this.#strikes.get(w.item.id) ?? 0) + 1;
        if (n >= STRIKES) {
          this.#undeliverable(w.item, w.entry, `the connection broke ${n} times while it was being sent`);
          continue;
        }
        this.#strike(w.item.id, n);
      }
      this.#send(w.item, w.entry);
    }
  }

  /** Replaces an answer the cloud cannot take with a bridge error, stored for resends and sent on. */
  #undeliverable(item: Held, entry: IdEntry | undefined, why: string): void {
    this.#strikes.delete(item.id);
    const { id } = splitKey(item.id);
    // Stryker disable next-line StringLiteral: Buffer.byteLength takes an empty encoding as UTF-8, the encoding named
    const bytes = Buffer.byteLength(item.frame, 'utf8');
    const error = new AnsweredError(
      'NBW_ERR_ANSWER_TOO_LARGE',
      `the answer (${bytes} bytes) could not be delivered: ${why}; the cloud must accept messages this large, or ask for less (rest.maxResponseBytes caps answers)`,
    );
    this.#log.warn({ id, bytes, code: error.code, reason: why }, 'an answer the cloud does not take is replaced by a 502 bridge error');
    this.#telemetry.bridgeError(error.code);
    const frame = encodeErrorResponse(id, error, this.#extensions);
    if (entry) this.#store.replace(entry, frame);
    this.#send({ seq: item.seq, id: item.id, frame, entry }, entry);
  }

  #strike(key: string, n: number): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: bounds memory; reaching it takes 4096 struck answers of 64 KiB each
    if (this.#strikes.size >= MAX_STRIKES) this.#strikes.clear();
    this.#strikes.set(key, n);
  }

  #send(item: Held, entry: IdEntry | undefined): void {
    const outlet = this.#outlet;
    if (!outlet.ready) {
      this.#hold(item, entry);
      return;
    }
    const w: OnWire = { item, entry, conn: 0, settled: false };
    const conn = outlet.send(item.frame, (err) => this.#written(w, err), entry?.askedOn, item);
    if (conn === 0) {
      this.#hold(item, entry);
      return;
    }
    w.conn = conn;
    if (entry) entry.deliveredOn = conn;
    if (!w.settled) {
      let set = this.#wire.get(conn);
      if (!set) this.#wire.set(conn, (set = new Set()));
      set.add(w);
      if (entry) {
        this.#store.pin(entry);
        this.#writing.set(entry, (this.#writing.get(entry) ?? 0) + 1);
      }
    }
    this.#pressure.check();
  }

  /**
   * A write callback (it may even run inside send): records the outcome and nothing more. A
   * failed write stays on the wire list until its connection's close is reported.
   */
  #written(w: OnWire, err: Error | undefined): void {
    if (!err && !w.settled) {
      w.settled = true;
      // Stryker disable next-line ConditionalExpression: a write reported inside send never reached the wire list, the pins or the copies being written
      if (w.conn !== 0) {
        // Stryker disable next-line OptionalChaining: a copy not yet settled is on its connection's wire list
        this.#wire.get(w.conn)?.delete(w);
        // Stryker disable next-line ConditionalExpression: an answer without an entry has no copies counted and nothing to hold
        if (w.entry) {
          this.#written1(w.entry);
          this.#awaitRead(w.conn, w.entry);
        }
      }
      this.#strikes.delete(w.item.id);
    }
    this.#pressure.drained();
  }

  /** One copy of the answer is no longer being written. */
  #written1(entry: IdEntry): void {
    const n = (this.#writing.get(entry) ?? 1) - 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a count of 0 and no count read the same; deleting keeps the map small
    if (n > 0) this.#writing.set(entry, n);
    else this.#writing.delete(entry);
  }

  /**
   * The answer left the bridge, which does not mean the cloud read it: it stays held in the
   * store until the connection proves the cloud read it (a ping's pong), so that a resend after
   * a break always finds it, however small dedupe.maxBytes is.
   */
  #awaitRead(conn: number, entry: IdEntry): void {
    let set = this.#unproven.get(conn);
    if (!set) this.#unproven.set(conn, (set = new Set()));
    if (set.has(entry)) {
      this.#store.unpin(entry); // one hold per entry and connection is enough
      return;
    }
    const read = () => {
      if (this.#unproven.get(conn)?.delete(entry)) this.#store.unpin(entry);
    };
    if (this.#outlet.awaitRead(conn, read)) set.add(entry);
    else this.#store.unpin(entry);
  }

  #hold(item: Held, entry: IdEntry | undefined): void {
    if (entry) this.#store.pin(entry);
    const dropped = this.#outbox.hold({ ...item, entry });
    if (dropped.length === 0) return;
    for (const d of dropped) {
      this.#store.unpin(d.entry);
      this.#store.expire(d.id);
    }
    this.#log.warn(
      { code: CODE.NBW_ERR_ANSWER_DROPPED, ids: dropped.map((d) => splitKey(d.id).id), limit: this.#outbox.bytes },
      'outbox full: dropped the oldest held answers; a resend of their ids is answered 503 "response expired"',
    );
  }
}
