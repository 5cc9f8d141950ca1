// The base of every profile that logs in and keeps a session: signing with the gate's session,
// replacing a stale one on 401, the login call's answer checked, and the secrets in use listed.
import type { HttpResult } from '../../rest/client.js';
import type { RestCall } from '../../rest/client.js';
import { LoginGate, type SessionHooks } from './gate.js';
import { loginFailed, type AuthProfile, type ProfileContext, type Signed } from './profile.js';

/** Secrets of replaced sessions kept for scrubbing: a slow answer signed with one may still come back, and the token may still be valid. */
const RETIRED_KEPT = 16;

export abstract class SessionProfile<T> implements AuthProfile {
  protected readonly gate: LoginGate<T>;
  protected readonly ctx: ProfileContext;
  #retired: string[] = [];

  constructor(ctx: ProfileContext, hooks: Omit<SessionHooks<T>, 'login' | 'logout'> = {}) {
    this.ctx = ctx;
    const { renew } = hooks;
    this.gate = new LoginGate<T>(
      {
        ...hooks,
        ...(renew ? { renew: (s: T) => this.#retire(s, () => renew(s)) } : {}),
        login: () => this.login(),
        logout: (s) => this.#retire(s, () => this.logout(s)),
      },
      { backend: ctx.backend, log: ctx.log, sessions: ctx.sessions, ...(ctx.login ? { minMs: ctx.login.minMs, maxMs: ctx.login.maxMs } : {}) },
    );
  }

  /** Remembers a session's secrets before it is renewed or ended. */
  #retire<R>(session: T, then: () => Promise<R>): Promise<R> {
    // Stryker disable next-line MethodExpression: bounds memory; the newest retired secrets come first either way
    this.#retired = [...this.sessionSecrets(session), ...this.#retired].slice(0, RETIRED_KEPT);
    return then();
  }

  protected abstract login(): Promise<T>;
  protected abstract sign(call: RestCall, session: T): RestCall;
  /** The secrets a session puts into calls (tokens, cookies, the header values themselves). */
  protected abstract sessionSecrets(session: T): readonly string[];
  /** Ends a session at the backend; without a logout call it simply runs out. */
  protected async logout(_session: T): Promise<void> {}
  /** Secrets from the configuration (passwords, API keys). */
  protected abstract configSecrets(): readonly string[];

  async apply(call: RestCall): Promise<Signed> {
    const { session, fresh } = await this.gate.get();
    return { call: this.sign(call, session.value), session: session.n, fresh };
  }

  unauthorized(signed: Signed): Promise<boolean> {
    return this.gate.unauthorized(signed.session, signed.fresh);
  }

  accepted(signed: Signed): void {
    this.gate.accepted(signed.session);
  }

  inspect(_res: HttpResult): void {}

  secrets(): readonly string[] {
    const s = this.gate.current;
    return [...this.configSecrets(), ...(s ? this.sessionSecrets(s.value) : []), ...this.#retired];
  }

  close(): Promise<void> {
    return this.gate.close();
  }

  /** The login call's answer, or a 502 naming the status (never the credentials). */
  protected async expect(call: RestCall, ok: number[]): Promise<HttpResult> {
    let res: HttpResult;
    try {
      res = await this.ctx.send(call);
    } catch (err) {
      throw loginFailed(this.ctx.backend, (err as Error).message);
    }
    if (!ok.includes(res.status)) throw loginFailed(this.ctx.backend, `${call.method} ${call.path} answered ${res.status}`);
    return res;
  }
}

/** Renew a token this long before it runs out. */
export const EARLY_MS = 60_000;
// Stryker disable next-line EqualityOperator: a millisecond either way of renewing early
export const runningOut = (s: { expiresAt: number }): boolean => s.expiresAt - Date.now() < EARLY_MS;

/** An OAuth-style bearer token. */
export interface OAuth {
  access: string;
  refresh: string | null;
  expiresAt: number;
}
