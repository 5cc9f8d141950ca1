// NetBackup through an agent, as a cloud application drives it: logged in once, the token and
// the versioned media type put on every call, and a new login when the token is refused.
import type { HubRequest, HubResponse } from './types.js';

export type NetBackupCredentials = { userName: string; password: string; domainType?: string; domainName?: string } | { apiKey: string };

export interface NetBackupOptions {
  /** The API version in the media type (application/vnd.netbackup+json;version=N); 1.0, which every server accepts, by default. */
  version?: string;
  timeoutMs?: number;
}

/** What the helper needs of the hub. */
export type Send = (req: HubRequest) => Promise<HubResponse>;

export class NetBackupSession {
  readonly #send: Send;
  readonly #creds: NetBackupCredentials;
  readonly #type: string;
  readonly #timeoutMs: number | undefined;
  #token: Promise<string> | null = null;

  constructor(send: Send, creds: NetBackupCredentials, opts: NetBackupOptions = {}) {
    this.#send = send;
    this.#creds = creds;
    this.#type = `application/vnd.netbackup+json;version=${opts.version ?? '1.0'}`;
    this.#timeoutMs = opts.timeoutMs;
  }

  /**
   * A call with the token and media type. On a 401 with a user login, it logs in again and
   * makes the call once more under a new id (the first one ran, and was refused).
   */
  async request(method: string, uri: string, body?: unknown, opts: { id?: string; headers?: Record<string, string> } = {}): Promise<HubResponse> {
    const token = await this.#login(false);
    const res = await this.#call(method, uri, body, token, opts);
    if (res.status !== 401 || 'apiKey' in this.#creds) return res;
    const fresh = await this.#login(true, token);
    return this.#call(method, uri, body, fresh, { ...opts, ...(opts.id ? { id: `${opts.id}.relogin` } : {}) });
  }

  #call(method: string, uri: string, body: unknown, token: string, opts: { id?: string; headers?: Record<string, string> }): Promise<HubResponse> {
    return this.#send({
      method,
      uri,
      headers: { 'Content-Type': this.#type, Accept: this.#type, ...opts.headers, Authorization: token },
      ...(body === undefined ? {} : { body }),
      ...(opts.id ? { id: opts.id } : {}),
      ...(this.#timeoutMs ? { timeoutMs: this.#timeoutMs } : {}),
    });
  }

  /** The token: the API key, or one login shared by every call waiting for it; `renew` replaces `refused` (once, however many calls saw it). */
  async #login(renew: boolean, refused?: string): Promise<string> {
    const creds = this.#creds;
    if ('apiKey' in creds) return creds.apiKey;
    if (this.#token && renew && (await this.#token.catch(() => null)) === refused) this.#token = null;
    this.#token ??= this.#send({
      method: 'POST',
      uri: '/netbackup/login',
      headers: { 'Content-Type': this.#type },
      body: { userName: creds.userName, password: creds.password, ...(creds.domainType ? { domainType: creds.domainType } : {}), ...(creds.domainName ? { domainName: creds.domainName } : {}) },
      ...(this.#timeoutMs ? { timeoutMs: this.#timeoutMs } : {}),
    }).then((res) => {
      const token = res.status === 201 || res.status === 200 ? res.json<{ token?: unknown }>().token : undefined;
      if (typeof token !== 'string') throw new Error(`NetBackup login failed: ${res.status}`);
      return token;
    });
    const pending = this.#token;
    pending.catch(() => {
      if (this.#token === pending) this.#token = null; // the next call tries again
    });
    return pending;
  }
}
