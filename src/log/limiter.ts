// Warnings a peer can cause at will (junk frames, refused requests) are logged the first few
// times per kind and source in each interval; the rest are counted and summed up in one line
// per interval, so a cloud cannot make the log a hundred times larger than its own traffic.
import type { Logger } from './logger.js';

export interface LimiterOptions {
  /** Lines of one kind from one source logged per interval before the rest are counted. */
  burst?: number;
  intervalMs?: number;
  now?: () => number;
}

interface Window {
  start: number;
  logged: number;
  suppressed: number;
  /** The last suppressed line's fields, for the summary. */
  last: Record<string, unknown>;
  msg: string;
}

export class WarnLimiter {
  readonly #log: Logger;
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  #timer: NodeJS.Timeout | null = null;

  constructor(log: Logger, opts: LimiterOptions = {}) {
    this.#log = log;
    this.#burst = opts.burst ?? 10;
    this.#intervalMs = opts.intervalMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Logs `msg` at warn, unless `source` already logged `burst` warnings of this `kind` in the current interval. */
  warn(source: string | number, kind: string, fields: Record<string, unknown>, msg: string): void {
    const key = `${source}\u0000${kind}`;
    const now = this.#now();
    let w = this.#windows.get(key);
    if (w && now - w.start >= this.#intervalMs) {
      this.#summarize(key, w);
      w = undefined;
    }
    if (!w) {
      w = { start: now, logged: 0, suppressed: 0, last: fields, msg };
      this.#windows.set(key, w);
      this.#schedule();
    }
    if (w.logged < this.#burst) {
      w.logged++;
      this.#log.warn(fields, w.logged === this.#burst ? `${msg} (more like this are counted, and summed up once a minute)` : msg);
      return;
    }
    w.suppressed++;
    w.last = fields;
  }

  /** Writes the summaries still due and stops the timer. */
  flush(): void {
    for (const [key, w] of this.#windows) this.#summarize(key, w);
    // Stryker disable next-line ConditionalExpression: clearing no timer does nothing
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #summarize(key: string, w: Window): void {
    this.#windows.delete(key);
    if (w.suppressed === 0) return;
    this.#log.warn({ ...w.last, suppressed: w.suppressed, intervalMs: this.#intervalMs }, `${w.msg}: ${w.suppressed} more times in the last interval, not logged one by one`);
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      const now = this.#now();
      for (const [key, w] of this.#windows) if (now - w.start >= this.#intervalMs) this.#summarize(key, w);
      if (this.#windows.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    }, this.#intervalMs);
    this.#timer.unref();
  }
}
