// What an auth profile is: a declaration and the object that signs calls with it.
//
// A declaration says which config keys the profile takes and which of them name secret files,
// which request headers and body fields it sets, and which response headers it may return.
// Everything that keeps the bridge's credentials to itself is derived from the declarations
// (registry.ts): reading and permission checks of secret files, redaction in logs and
// check-config, stripping the cloud's competing credentials, and filtering answers. A secret
// a profile does not declare is never handed to it, so a new profile cannot fail open.
import { isUtf8 } from 'node:buffer';
import { AnsweredError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { HttpResult, RestCall, RestCaller } from '../../rest/client.js';

/** Secrets shorter than this are not searched for in answers: they would shred ordinary text. check-config warns about them. */
export const MIN_SECRET_LENGTH = 4;

/** Sends a call to the backend without auth (the profile's own logins go through it). */
export type Send = (call: RestCall) => Promise<HttpResult>;

/** One config key of a profile (under `backends[i].auth`). */
export interface KeySpec {
  /** The key names a file holding a secret, read at start into the value named here (e.g. passwordFile → password). */
  readonly secret?: string;
  readonly required?: boolean;
  /** Value when the key is absent. */
  readonly default?: string;
  /** The value must be an http or https URL. */
  readonly url?: boolean;
}

/** A profile's configuration once read: plain values by key, secrets by the name their KeySpec gives. */
export type AuthValues = Readonly<Record<string, string | null>>;

/** What a profile needs from the backend it signs for. */
export interface ProfileContext {
  /** Sends a call to the backend without auth (for logins and logouts). */
  send: Send;
  backend: string;
  log: Logger;
  /** Counts errors a backend reports with a success status (AhsayCBS). */
  reportError: () => void;
  /** Live sessions of this backend: 0 or 1. */
  sessions: (live: number) => void;
  /** Request headers that carry credentials: the cloud's values for them are dropped where the profile signs. */
  strip: ReadonlySet<string>;
  /** Waits between failed logins (login.minMs and login.maxMs). */
  login?: { minMs: number; maxMs: number };
  /**
   * A REST client to another origin (an identity provider's token URL), with the backend's CA
   * and time limit; `url` is its base, calls add their path to it. Closed with the backend.
   */
  connect: (url: string) => RestCaller;
}

export interface ProfileSpec {
  readonly type: string;
  readonly keys: Readonly<Record<string, KeySpec>>;
  /** Request headers carrying credentials it sets on calls (a cloud's own values for them are dropped), and body fields. */
  readonly sets: { readonly headers: readonly string[]; readonly body?: readonly string[] };
  /** Response headers it may pass back beyond the common representation and caching headers. */
  readonly returns?: readonly string[];
  /** True when it injects credentials of the bridge's own (answers are then filtered and scrubbed). */
  readonly signs: boolean;
  /** Rules across keys beyond required ones; push problems naming `where`. */
  check?(values: AuthValues, where: string, problems: string[]): void;
  create(values: AuthValues, ctx: ProfileContext): AuthProfile;
}

/** A call signed with a session, and which session (for telling a stale session from a 401 about the call). */
export interface Signed {
  call: RestCall;
  /** The session's number; 0 for profiles without sessions. */
  session: number;
  /** The session was made for this very call (it waited for the login): a 401 on it is about the call. */
  fresh: boolean;
}

export interface AuthProfile {
  /** The call with the backend's credentials applied; throws a 502 AnsweredError when logging in failed. */
  apply(call: RestCall): Promise<Signed>;
  /**
   * The backend answered 401 to a call signed as `signed`. Resolves true when the call should
   * be made once more (the session was stale and has been replaced, by this call or another).
   */
  unauthorized(signed: Signed): Promise<boolean>;
  /** A call signed as `signed` got an answer other than 401: its session works. */
  accepted(signed: Signed): void;
  /** Looks at an answer before it goes back (AhsayCBS reports errors with status 200). */
  inspect(res: HttpResult): void;
  /** Every secret the profile puts into calls now: none of them may reach the cloud. */
  secrets(): readonly string[];
  /** The method a call is sent with, when the profile changes it (the policy checks that one too). */
  methodSent?(method: string): string;
  /** Ends the session (logout) on shutdown. */
  close(): Promise<void>;
}

/** A value the registry checked as required. */
export function value(values: AuthValues, key: string): string {
  const v = values[key];
  // Stryker disable next-line ConditionalExpression: guards against a declaration mistake; the registry checks every required value first
  if (typeof v !== 'string') throw new TypeError(`auth value ${key} missing: the profile's declaration must mark it required`);
  return v;
}

/** The call's headers without `strip` (the cloud's competing credentials), plus `add`. */
export function withHeaders(call: RestCall, strip: ReadonlySet<string>, add: Record<string, string>): RestCall {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.headers)) if (!strip.has(k)) headers[k] = v;
  return { ...call, headers: { ...headers, ...add } };
}

/** A profile that needs no session. */
export abstract class Sessionless implements AuthProfile {
  abstract apply(call: RestCall): Promise<Signed>;
  async unauthorized(): Promise<boolean> {
    return false;
  }
  accepted(): void {}
  inspect(_res: HttpResult): void {}
  secrets(): readonly string[] {
    return [];
  }
  async close(): Promise<void> {}
}

/** A login failure, answered 502 to every call waiting for it; never carries a password. */
export function loginFailed(backend: string, what: string): AnsweredError {
  return new AnsweredError('NBW_ERR_BACKEND_LOGIN', `${backend}: logging in to the backend failed (${what}); the bridge retries with backoff`);
}

/** An answer's body as text ('' when it is not UTF-8: logins answer JSON or XML). */
export function textOf(res: HttpResult): string {
  return isUtf8(res.body) ? res.body.toString('utf8') : '';
}

/** A login call's answer as JSON (an object), or {} */
export function jsonOf(res: HttpResult): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(textOf(res));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** An application/x-www-form-urlencoded body. */
export const form = (fields: Record<string, string>): string =>
  Object.entries(fields).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
