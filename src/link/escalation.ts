// How loudly a group says it cannot reach the cloud: the first failed dials at info (a blip, a
// restart of the cloud), from the third in a row at warn, and at error once the group has had
// no connection for minutes. The first ready connection after failures says how long it took.
import type { Logger } from '../log/logger.js';
import type { DialFailure } from './cause.js';

/** Failed dials in a row logged at info before the next ones are logged at warn. */
export const DIAL_WARN_AFTER = 2;
/** Time without a connection after which failed dials are logged at error. */
export const DIAL_ERROR_AFTER_MS = 5 * 60_000;

export interface EscalationOptions {
  warnAfter?: number;
  errorAfterMs?: number;
  now?: () => number;
}

export class DialEscalation {
  readonly #log: Logger;
  readonly #warnAfter: number;
  readonly #errorAfterMs: number;
  readonly #now: () => number;
  #failures = 0;
  #since: number | null = null;

  constructor(log: Logger, opts: EscalationOptions = {}) {
    this.#log = log;
    this.#warnAfter = opts.warnAfter ?? DIAL_WARN_AFTER;
    this.#errorAfterMs = opts.errorAfterMs ?? DIAL_ERROR_AFTER_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** A dial failed; logs it at the level the run of failures has reached. */
  failed(fields: Record<string, unknown>, failure: DialFailure): void {
    const now = this.#now();
    this.#since ??= now;
    this.#failures++;
    const downMs = now - this.#since;
    const level = downMs >= this.#errorAfterMs ? 'error' : this.#failures > this.#warnAfter ? 'warn' : 'info';
    this.#log[level](
      { ...fields, dialFailure: failure.reason, side: failure.side, cause: failure.cause, hint: failure.hint, failedDials: this.#failures, downMs },
      `cloud connection failed; retrying: ${failure.cause}`,
    );
  }

  /** A connection is ready: the run of failures is over. */
  ready(): void {
    if (this.#failures > 0) {
      this.#log.info({ failedDials: this.#failures, downMs: this.#now() - (this.#since ?? this.#now()) }, 'connected after failed dials');
    }
    this.#failures = 0;
    this.#since = null;
  }
}
