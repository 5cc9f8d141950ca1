// Backpressure: while more than maxBufferedBytes wait to be written toward the cloud, the start
// of new REST calls of the endpoint group is held back, and released once the socket drains.
import type { Logger } from '../log/logger.js';

/** What backpressure holds back: the start of new REST calls for this courier's endpoint group. */
export interface Throttle {
  pause(): void;
  resume(): void;
}

/** Backpressure can switch on and off many times a second; it is worth one warning a minute. */
const THROTTLE_LOG_EVERY_MS = 60_000;

export class Backpressure {
  readonly #throttle: Throttle;
  readonly #maxBuffered: number;
  readonly #buffered: () => number;
  readonly #log: Logger;
  #paused = false;
  /** Throttling episodes since the last warning, and when that was. */
  #episodes = 0;
  #loggedAt = -Infinity;

  constructor(throttle: Throttle, maxBufferedBytes: number, buffered: () => number, log: Logger) {
    this.#throttle = throttle;
    this.#maxBuffered = maxBufferedBytes;
    this.#buffered = buffered;
    this.#log = log;
  }

  /** True while REST calls are held back. */
  get on(): boolean {
    return this.#paused;
  }

  /** After a send: holds calls back when too much is queued. */
  check(): void {
    if (!this.#paused && this.#buffered() > this.#maxBuffered) this.#pause();
  }

  /** After a write: lets calls go once the queue is back within the bound. */
  drained(): void {
    if (this.#paused && this.#buffered() <= this.#maxBuffered) this.release();
  }

  #pause(): void {
    this.#paused = true;
    this.#throttle.pause();
    this.#episodes++;
    const now = Date.now();
    if (now - this.#loggedAt >= THROTTLE_LOG_EVERY_MS) {
      this.#log.warn(
        { buffered: this.#buffered(), limit: this.#maxBuffered, episodes: this.#episodes },
        'the cloud reads slower than answers arrive; holding new REST calls until it catches up (logged at most once a minute)',
      );
      this.#loggedAt = now;
      this.#episodes = 0;
    }
  }

  /** Lets calls go (also when the connection is gone: nothing is queued toward it any more). */
  release(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#throttle.resume();
    this.#log.debug('the cloud caught up; REST calls resume');
  }
}
