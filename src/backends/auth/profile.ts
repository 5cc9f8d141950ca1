// What an auth profile does to a call, and the login every session-based profile shares:
// one login in flight at a time, calls waiting for it, and backoff after a failure.
import { AnsweredError } from '../../errors.js';
import { Backoff } from '../../link/backoff.js';
import type { Logger } from '../../log/logger.js';
import type { CommandResponsePayload } from '../../protocol/envelope.js';
import type { RestCall } from '../../rest/client.js';

/** Sends a call to the backend without auth (the profile's own logins go through it). */
export type Send = (call: RestCall) => Promise<CommandResponsePayload>;

export interface AuthProfile {
  /** The call with the backend's credentials applied; throws a 502 AnsweredError when logging in failed. */
  apply(call: RestCall): Promise<RestCall>;
  /** The backend answered 401 to a call made with this session: forget it. True when one retry with a new login makes sense. */
  expired(): boolean;
  /** Looks at an answer before it goes back (AhsayCBS reports errors with status 200). */
  inspect(res: CommandResponsePayload): void;
  /** Ends the session (logout) on shutdown. */
  close(): Promise<void>;
  /** The method a call is sent with, when the profile changes it (the policy checks that one too). */
  methodSent?(method: string): string;
}

/** Headers that carry credentials: the cloud's are dropped where the bridge signs calls itself. */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'x-restsvcsessionid', 'apikey', 'x-ibm-tenant-id', 'x-api-version'];

/** The call's headers without the cloud's credentials, plus `add`. */
export function withHeaders(call: RestCall, add: Record<string, string>): RestCall {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.headers)) if (!CREDENTIAL_HEADERS.includes(k)) headers[k] = v;
  return { ...call, headers: { ...headers, ...add } };
}

/** A profile that needs no session. */
export abstract class Sessionless implements AuthProfile {
  abstract apply(call: RestCall): Promise<RestCall>;
  expired(): boolean {
    return false;
  }
  inspect(_res: CommandResponsePayload): void {}
  async close(): Promise<void> {}
}

/** A login failure, answered 502 to every call waiting for it; never carries a password. */
export function loginFailed(backend: string, what: string): AnsweredError {
  return new AnsweredError('NBW_ERR_BACKEND_LOGIN', `${backend}: logging in to the backend failed (${what}); the bridge retries with backoff`);
}

/** How a session that is about to run out is renewed (a refresh grant, or simply a new login). */
export interface Renewal<T> {
  stale?: (session: T) => boolean;
  renew?: (session: T) => Promise<T>;
}

export interface GateOptions {
  backend: string;
  log: Logger;
  /** Backoff between failed logins. */
  minMs?: number;
  maxMs?: number;
}

/**
 * Holds a session: the first call that needs one logs in, concurrent calls wait for that same
 * login; after a failure every call is answered at once with that failure until the backoff
 * has passed, so a wrong password does not cost a login per request.
 */
export class LoginGate<T> {
  readonly #login: () => Promise<T>;
  readonly #opts: GateOptions;
  readonly #renewal: Renewal<T>;
  readonly #backoff: Backoff;
  #session: T | null = null;
  #pending: Promise<T> | null = null;
  #failure: AnsweredError | null = null;
  #retryAt = 0;

  constructor(login: () => Promise<T>, opts: GateOptions, renewal: Renewal<T> = {}) {
    this.#login = login;
    this.#opts = opts;
    this.#renewal = renewal;
    this.#backoff = new Backoff({ minMs: opts.minMs ?? 1000, maxMs: opts.maxMs ?? 60_000 });
  }

  /** The current session, if there is one. */
  get current(): T | null {
    return this.#session;
  }

  /**
   * The session, logging in when there is none and renewing one about to run out; either way
   * one login or renewal runs at a time and every caller waits for it.
   */
  async get(): Promise<T> {
    const session = this.#session ?? (await this.#acquire(this.#login));
    const { stale, renew } = this.#renewal;
    if (!stale?.(session)) return session;
    return this.#acquire(() => (renew ? renew(session) : this.#login()).catch(() => this.#login()));
  }

  /** Forgets the session (it expired); the next get() logs in again. */
  invalidate(): void {
    this.#session = null;
  }

  async #acquire(obtain: () => Promise<T>): Promise<T> {
    if (this.#pending) return this.#pending;
    if (this.#failure && Date.now() < this.#retryAt) throw this.#failure;
    this.#pending = obtain().then(
      (s) => {
        this.#session = s;
        this.#failure = null;
        this.#backoff.reset();
        this.#opts.log.info({ backend: this.#opts.backend }, 'logged in to the backend');
        return s;
      },
      (err: unknown) => {
        const failure = err instanceof AnsweredError ? err : loginFailed(this.#opts.backend, (err as Error).message);
        this.#failure = failure;
        const wait = this.#backoff.next();
        this.#retryAt = Date.now() + wait;
        this.#opts.log.warn({ backend: this.#opts.backend, code: failure.code, reason: failure.message, retryInMs: wait }, 'login to the backend failed');
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
