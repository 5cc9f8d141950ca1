// Delivers answers: on the connection that is up, or held in the outbox until the next one
// is; stops new REST calls while the cloud reads slower than answers are produced.
import type { Logger } from '../log/logger.js';
import type { IdEntry, IdStore } from '../state/idstore.js';
import type { Held, Outbox } from '../state/outbox.js';

/** The link as the courier sees it. */
export interface Outlet {
  readonly ready: boolean;
  /** Number of the current connection. */
  readonly connection: number;
  /** Bytes queued on the socket, not yet written. */
  readonly bufferedAmount: number;
  /**
   * Sends a frame, on connection `prefer` while it is open, else on the current one; `done`
   * runs once it is written, with an error when it could not be. Returns the connection used, 0 if none.
   */
  send(text: string, done: (err?: Error) => void, prefer?: number): number;
}

/** What backpressure holds back: the start of new REST calls. */
export interface Throttle {
  pause(): void;
  resume(): void;
}

/**
 * Throttles for several couriers over one target: the target stays paused while any of them
 * holds it paused. Each courier pauses at most once before it resumes.
 */
export function sharedThrottle(target: Throttle): () => Throttle {
  let holders = 0;
  return () => ({
    pause() {
      if (holders++ === 0) target.pause();
    },
    resume() {
      if (--holders === 0) target.resume();
    },
  });
}

/** Backpressure can switch on and off many times a second; it is worth one warning a minute. */
const THROTTLE_LOG_EVERY_MS = 60_000;

export interface CourierOptions {
  outlet: Outlet;
  outbox: Outbox;
  store: IdStore;
  throttle: Throttle;
  maxBufferedBytes: number;
  log: Logger;
}

export class Courier {
  readonly #outlet: Outlet;
  readonly #outbox: Outbox;
  readonly #store: IdStore;
  readonly #throttle: Throttle;
  readonly #maxBuffered: number;
  readonly #log: Logger;
  #seq = 0;
  #paused = false;
  /** Throttling episodes since the last warning, and when that was. */
  #episodes = 0;
  #loggedAt = -Infinity;

  constructor(opts: CourierOptions) {
    this.#outlet = opts.outlet;
    this.#outbox = opts.outbox;
    this.#store = opts.store;
    this.#throttle = opts.throttle;
    this.#maxBuffered = opts.maxBufferedBytes;
    this.#log = opts.log;
  }

  /** True while REST calls are held back because the cloud reads too slowly. */
  get throttled(): boolean {
    return this.#paused;
  }

  /** Sends an answer now, or holds it until a connection is ready. `entry` is the id's store entry, if it has one. */
  deliver(id: string, frame: string, entry?: IdEntry): void {
    this.#send({ seq: ++this.#seq, id, frame }, entry);
  }

  /** Number of the current connection. */
  get connection(): number {
    return this.#outlet.connection;
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

  /** A connection became ready: everything held goes out, in completion order. */
  flush(): void {
    const held = this.#outbox.takeAll();
    if (held.length) this.#log.info({ answers: held.length }, 'sending answers held while no connection was up');
    for (const item of held) this.#send(item, this.#store.get(item.id));
  }

  /** The connection went down: nothing is buffered toward it any more. */
  down(): void {
    this.#release();
  }

  #send(item: Held, entry: IdEntry | undefined): void {
    const outlet = this.#outlet;
    const conn = outlet.ready
      ? outlet.send(item.frame, (err) => {
          if (err) {
            if (entry?.deliveredOn === conn) entry.deliveredOn = null;
            this.#send(item, entry);
          }
          if (this.#paused && outlet.bufferedAmount <= this.#maxBuffered) this.#release();
        }, entry?.askedOn)
      : 0;
    if (conn === 0) {
      this.#hold(item);
      return;
    }
    if (entry) entry.deliveredOn = conn;
    if (!this.#paused && outlet.bufferedAmount > this.#maxBuffered) {
      this.#paused = true;
      this.#throttle.pause();
      this.#episodes++;
      const now = Date.now();
      if (now - this.#loggedAt >= THROTTLE_LOG_EVERY_MS) {
        this.#log.warn(
          { buffered: outlet.bufferedAmount, limit: this.#maxBuffered, episodes: this.#episodes },
          'the cloud reads slower than answers arrive; holding new REST calls until it catches up (logged at most once a minute)',
        );
        this.#loggedAt = now;
        this.#episodes = 0;
      }
    }
  }

  #release(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#throttle.resume();
    this.#log.debug('the cloud caught up; REST calls resume');
  }

  #hold(item: Held): void {
    const dropped = this.#outbox.hold(item);
    if (dropped.length === 0) return;
    for (const d of dropped) this.#store.expire(d.id);
    this.#log.warn(
      { code: 'NBW_ERR_ANSWER_DROPPED', ids: dropped.map((d) => d.id), limit: this.#outbox.bytes },
      'outbox full: dropped the oldest held answers; a resend of their ids is answered 503 "response expired"',
    );
  }
}
