// Reconnect delays: exponential growth from minMs, capped at maxMs, with full jitter.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** A source of numbers in [0, 1); Math.random unless a test fixes it. */
  random?: () => number;
}

/** Counts failed attempts and gives the wait before the next one. */
export class Backoff {
  readonly #min: number;
  readonly #max: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions) {
    this.#min = opts.minMs;
    this.#max = opts.maxMs;
    this.#random = opts.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The wait before the next attempt, and counts one more attempt: a uniformly random value
   * between minMs and min(maxMs, minMs * 2^attempt).
   */
  next(): number {
    const ceiling = Math.min(this.#max, this.#min * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(this.#min + this.#random() * (ceiling - this.#min));
  }

  /** Called once a connection is accepted: the next failure waits minMs again. */
  reset(): void {
    this.#attempt = 0;
  }
}
