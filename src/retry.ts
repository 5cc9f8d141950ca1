// Every retry of the bridge waits by these rules: exponential growth from minMs, capped at maxMs,
// every wait jittered over its whole window so that bridges behind one cloud do not come back in
// step; a server's Retry-After, when it gives one, wins. Used by the reconnect (reconnect.*), the
// backend logins (login.*), the notification polls (notifications.pollMs up to
// notifications.maxBackoffMs) and the hint the bridge gives the cloud in its own 503s.

/** The Retry-After (seconds) of the bridge's own 503 answers: shutting down, or its queue full. */
export const RETRY_AFTER_HINT_S = 1;

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

  /** Failed attempts since the last reset (a weighted failure counts several). */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * Counts `weight` more failed attempts (1 for a plain failure, more for a peer that asked to
   * be left alone) and gives the wait before the next one: uniformly random between minMs and
   * min(maxMs, minMs * 2^attempts).
   */
  next(weight = 1): number {
    this.#attempt = Math.min(this.#attempt + Math.max(1, Math.floor(weight)), 64);
    const ceiling = Math.min(this.#max, this.#min * 2 ** Math.min(this.#attempt, 30));
    return Math.round(this.#min + this.#random() * Math.max(0, ceiling - this.#min));
  }

  /** Starts over: the next failure waits between minMs and twice that again. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** A Retry-After value (seconds, or an HTTP date) as milliseconds from `now`; null when there is none or it is neither. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  // An HTTP date names its zone (GMT); anything else a date parser might take is no Retry-After.
  if (!/\bGMT\b/.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
