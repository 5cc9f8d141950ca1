// The session of a backend that logs in: one login in flight at a time with every call waiting
// for it, backoff after a failed login, and at most one live session: a session is replaced
// only when a 401 shows it stale, the one it replaces is logged out first, and concurrent 401s
// on one session share one replacement.
import { AnsweredError } from '../../errors.js';
import { Backoff } from '../../retry.js';
import type { Logger } from '../../log/logger.js';
import { loginFailed } from './profile.js';

/** How a profile obtains, renews and ends a session. */
export interface SessionHooks<T> {
  login(): Promise<T>;
  /** True when a session is about to run out and should be renewed before use. */
  stale?(session: T): boolean;
  /** Renews a session in place (a refresh grant); without it, a stale session is replaced by a new login. */
  renew?(session: T): Promise<T>;
  /** Ends a session at the backend (failures are ignored). */
  logout?(session: T): Promise<void>;
}

export interface GateOptions {
  backend: string;
  log: Logger;
  /** Live sessions now (0 or 1), for the gauge. */
  sessions?: (live: number) => void;
  /** Backoff between failed logins, and between replacements on 401 that did not help. */
  minMs?: number;
  maxMs?: number;
}

/** A session and what the gate knows of it. */
export interface Session<T> {
  readonly value: T;
  /** Numbers count from 1; a replacement gets the next. */
  readonly n: number;
  /** Made to replace a session a 401 showed stale, and not yet seen to work. */
  suspect: boolean;
}

export class LoginGate<T> {
  readonly #hooks: SessionHooks<T>;
  readonly #opts: GateOptions;
  readonly #loginBackoff: Backoff;
  /** Replacing sessions on 401 backs off while replacements do not help (a path that always answers 401). */
  readonly #replaceBackoff: Backoff;
  #session: Session<T> | null = null;
  #pending: Promise<Session<T>> | null = null;
  #failure: AnsweredError | null = null;
  #retryAt = 0;
  #replaceNotBefore = 0;
  #count = 0;

  constructor(hooks: SessionHooks<T>, opts: GateOptions) {
    this.#hooks = hooks;
    this.#opts = opts;
    // Stryker disable next-line LogicalOperator: defaults for a gate made without login.* (the configuration always gives both)
    this.#loginBackoff = new Backoff({ minMs: opts.minMs ?? 1000, maxMs: opts.maxMs ?? 60_000 });
    // Stryker disable next-line LogicalOperator: as above
    this.#replaceBackoff = new Backoff({ minMs: opts.minMs ?? 1000, maxMs: opts.maxMs ?? 60_000 });
  }

  /** The live session, if there is one. */
  get current(): Session<T> | null {
    return this.#session;
  }

  /**
   * The session to sign a call with: logging in when there is none, renewing one about to run
   * out; one login or renewal runs at a time and every caller waits for it. `fresh` is true when
   * this call waited for the login that made it.
   */
  async get(): Promise<{ session: Session<T>; fresh: boolean }> {
    let fresh = false;
    let s = this.#session;
    if (!s || this.#pending) {
      fresh = true;
      s = await this.#acquire(() => this.#login());
    }
    if (this.#hooks.stale?.(s.value)) {
      const old = s;
      s = await this.#acquire(() => this.#renew(old));
      fresh = true;
    }
    return { session: s, fresh };
  }

  /**
   * A call signed with session `n` was answered 401. True when it should be made once more:
   * the session was replaced (by this call or by another meanwhile). A session made for this
   * very call, or one a replacement just made that has not worked yet while replacements back
   * off, is not replaced: the 401 is about the call.
   */
  async unauthorized(n: number, fresh: boolean): Promise<boolean> {
    if (this.#pending) {
      await this.#pending.catch(() => {});
      return this.#session !== null && this.#session.n !== n;
    }
    const s = this.#session;
    if (!s) return true;
    if (s.n !== n) return true;
    if (s.suspect) {
      // A replacement that got a 401 itself did not help: the next waits longer.
      s.suspect = false;
      this.#replaceNotBefore = Date.now() + this.#replaceBackoff.next();
      return false;
    }
    // Stryker disable next-line EqualityOperator: a millisecond either way of the backoff's end
    if (fresh || Date.now() < this.#replaceNotBefore) return false;
    try {
      const next = await this.#acquire(() => this.#replace(s));
      // Stryker disable next-line ConditionalExpression: nothing is pending here, so what comes back is the replacement, with a new number
      return next.n !== n;
    } catch {
      return false;
    }
  }

  /** A call signed with session `n` was not answered 401: the session works. */
  accepted(n: number): void {
    const s = this.#session;
    if (s?.n !== n) return;
    // Stryker disable next-line ConditionalExpression: clearing a session that is not suspect and a backoff that is not running changes nothing
    if (!s.suspect && this.#replaceNotBefore === 0) return;
    s.suspect = false;
    this.#replaceBackoff.reset();
    this.#replaceNotBefore = 0;
  }

  /** Logs the session out (shutdown). */
  async close(): Promise<void> {
    await this.#pending?.catch(() => {});
    const s = this.#session;
    this.#set(null);
    // Stryker disable next-line ConditionalExpression: #logout catches the error of reading a missing session
    if (s) await this.#logout(s);
  }

  async #login(): Promise<Session<T>> {
    return { value: await this.#hooks.login(), n: ++this.#count, suspect: false };
  }

  /** A renewal keeps the session (same number); if renewing fails, a new login replaces it. */
  async #renew(old: Session<T>): Promise<Session<T>> {
    // Stryker disable next-line ConditionalExpression: without a renew hook the call fails and a new login replaces the session all the same
    if (this.#hooks.renew) {
      try {
        return { value: await this.#hooks.renew(old.value), n: old.n, suspect: false };
      } catch {
        // fall through to a new login
      }
    }
    return this.#replace(old);
  }

  /** Logs `old` out, then in again: never two live sessions. */
  async #replace(old: Session<T>): Promise<Session<T>> {
    this.#set(null);
    await this.#logout(old);
    const next = await this.#login();
    next.suspect = true;
    return next;
  }

  async #logout(s: Session<T>): Promise<void> {
    // Stryker disable next-line ConditionalExpression: without a logout hook the call fails, and failures are ignored
    if (!this.#hooks.logout) return;
    try {
      await this.#hooks.logout(s.value);
    } catch {
      // the session ends by itself at the backend
    }
  }

  #set(s: Session<T> | null): void {
    this.#session = s;
    this.#opts.sessions?.(s ? 1 : 0);
  }

  async #acquire(obtain: () => Promise<Session<T>>): Promise<Session<T>> {
    if (this.#pending) return this.#pending;
    // Stryker disable next-line EqualityOperator: a millisecond either way of the backoff's end
    if (this.#failure && Date.now() < this.#retryAt) throw this.#failure;
    const log = this.#opts.log;
    this.#pending = obtain().then(
      (s) => {
        this.#set(s);
        this.#failure = null;
        this.#loginBackoff.reset();
        log.info({ session: s.n }, 'logged in to the backend');
        return s;
      },
      (err: unknown) => {
        const failure = err instanceof AnsweredError ? err : loginFailed(this.#opts.backend, (err as Error).message);
        this.#failure = failure;
        const wait = this.#loginBackoff.next();
        this.#retryAt = Date.now() + wait;
        log.warn({ code: failure.code, reason: failure.message, retryInMs: wait }, 'login to the backend failed');
        throw failure;
      },
    );
    try {
      return await this.#pending;
    } finally {
      this.#pending = null;
    }
  }
}
