// Profiles that log in and keep a session: Veeam Enterprise Manager, Veeam Backup &
// Replication, Cohesity / IBM Backup and Recovery, IBM Cloud IAM, Storware.
import { request } from 'undici';
import type { AuthConfig } from '../../config/backends.js';
import type { CommandResponsePayload } from '../../protocol/envelope.js';
import type { RestCall } from '../../rest/client.js';
import { LoginGate, loginFailed, withHeaders, type AuthProfile, type GateOptions, type Renewal, type Send } from './profile.js';

const json = (res: CommandResponsePayload): Record<string, unknown> => {
  try {
    const v: unknown = JSON.parse(res.body);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const form = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

/** Refresh a token this long before it runs out. */
const EARLY_MS = 60_000;
const runningOut = (s: { expiresAt: number }) => s.expiresAt - Date.now() < EARLY_MS;

abstract class SessionProfile<T> implements AuthProfile {
  protected readonly gate: LoginGate<T>;
  protected readonly send: Send;
  protected readonly backend: string;

  constructor(send: Send, gate: GateOptions, renewal: Renewal<T> = {}) {
    this.send = send;
    this.backend = gate.backend;
    this.gate = new LoginGate(() => this.login(), gate, renewal);
  }

  protected abstract login(): Promise<T>;
  protected abstract sign(call: RestCall, session: T): RestCall;

  async apply(call: RestCall): Promise<RestCall> {
    return this.sign(call, await this.gate.get());
  }

  expired(): boolean {
    this.gate.invalidate();
    return true;
  }

  inspect(): void {}

  async close(): Promise<void> {}

  /** The login call's answer, or a 502 naming the status (never the credentials). */
  protected async expect(call: RestCall, ok: number[]): Promise<CommandResponsePayload> {
    let res: CommandResponsePayload;
    try {
      res = await this.send(call);
    } catch (err) {
      throw loginFailed(this.backend, (err as Error).message);
    }
    if (!ok.includes(res.responseCode)) throw loginFailed(this.backend, `${call.method} ${call.path} answered ${res.responseCode}`);
    return res;
  }
}

/** Veeam Backup Enterprise Manager: Basic login to a session header, deleted on shutdown. */
export class VeeamEm extends SessionProfile<{ token: string; sessionId: string | null }> {
  readonly #basic: string;
  constructor(cfg: Extract<AuthConfig, { type: 'veeam-em' }>, send: Send, gate: GateOptions) {
    super(send, gate);
    this.#basic = `Basic ${Buffer.from(`${cfg.username}:${cfg.password}`).toString('base64')}`;
  }
  protected async login() {
    const res = await this.expect({ method: 'POST', path: '/api/sessionMngr/?v=latest', headers: { authorization: this.#basic, accept: 'application/json' } }, [201]);
    const token = res.headers['x-restsvcsessionid'];
    if (!token) throw loginFailed(this.backend, 'no X-RestSvcSessionId in the login answer');
    const sessionId = (json(res).SessionId as string | undefined) ?? /<SessionId>([^<]+)<\/SessionId>/.exec(res.body)?.[1] ?? null;
    return { token, sessionId };
  }
  protected sign(call: RestCall, s: { token: string }) {
    return withHeaders(call, { 'x-restsvcsessionid': s.token });
  }
  override async close() {
    const s = this.gate.current;
    if (!s?.sessionId) return;
    await this.send({ method: 'DELETE', path: `/api/logonSessions/${encodeURIComponent(s.sessionId)}`, headers: { 'x-restsvcsessionid': s.token } }).catch(() => {});
  }
}

interface OAuth {
  access: string;
  refresh: string | null;
  expiresAt: number;
}

/** Veeam Backup & Replication: OAuth2 password grant, refreshed before it runs out, logged out on shutdown. */
export class VeeamVbr extends SessionProfile<OAuth> {
  readonly #cfg: Extract<AuthConfig, { type: 'veeam-vbr' }>;
  constructor(cfg: Extract<AuthConfig, { type: 'veeam-vbr' }>, send: Send, gate: GateOptions) {
    super(send, gate, {
      stale: runningOut,
      renew: (s) => (s.refresh ? this.#token({ grant_type: 'refresh_token', refresh_token: s.refresh }) : this.login()),
    });
    this.#cfg = cfg;
  }
  async #token(fields: Record<string, string>): Promise<OAuth> {
    const res = await this.expect(
      { method: 'POST', path: '/api/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-version': this.#cfg.apiVersion, accept: 'application/json' }, body: form(fields) },
      [200],
    );
    const b = json(res);
    if (typeof b.access_token !== 'string') throw loginFailed(this.backend, 'no access_token in the token answer');
    return { access: b.access_token, refresh: typeof b.refresh_token === 'string' ? b.refresh_token : null, expiresAt: Date.now() + Number(b.expires_in ?? 900) * 1000 };
  }
  protected login() {
    return this.#token({ grant_type: 'password', username: this.#cfg.username, password: this.#cfg.password });
  }
  protected sign(call: RestCall, s: OAuth) {
    return withHeaders(call, { authorization: `Bearer ${s.access}`, 'x-api-version': this.#cfg.apiVersion });
  }
  override async close() {
    const s = this.gate.current;
    if (!s) return;
    await this.send({ method: 'POST', path: '/api/oauth2/logout', headers: { authorization: `Bearer ${s.access}`, 'x-api-version': this.#cfg.apiVersion } }).catch(() => {});
  }
}

/** Cohesity (IBM Backup and Recovery): an apiKey header, or an access token renewed on 401. */
export class Cohesity extends SessionProfile<string> {
  readonly #cfg: Extract<AuthConfig, { type: 'cohesity' }>;
  constructor(cfg: Extract<AuthConfig, { type: 'cohesity' }>, send: Send, gate: GateOptions) {
    super(send, gate);
    this.#cfg = cfg;
  }
  protected async login() {
    if (this.#cfg.apiKey !== null) return this.#cfg.apiKey;
    const res = await this.expect(
      {
        method: 'POST',
        path: '/irisservices/api/v1/public/accessTokens',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ username: this.#cfg.username, password: this.#cfg.password, domain: this.#cfg.domain }),
      },
      [200, 201],
    );
    const b = json(res);
    if (typeof b.accessToken !== 'string') throw loginFailed(this.backend, 'no accessToken in the login answer');
    return `${typeof b.tokenType === 'string' ? b.tokenType : 'Bearer'} ${b.accessToken}`;
  }
  protected sign(call: RestCall, credential: string) {
    const tenant: Record<string, string> = this.#cfg.tenantId ? { 'x-ibm-tenant-id': this.#cfg.tenantId } : {};
    return withHeaders(call, this.#cfg.apiKey !== null ? { apikey: credential, ...tenant } : { authorization: credential, ...tenant });
  }
  override expired(): boolean {
    if (this.#cfg.apiKey !== null) return false;
    return super.expired();
  }
}

/** IBM Cloud Backup and Recovery as a service: an IBM Cloud API key exchanged at IAM for a bearer token. */
export class IbmIam extends SessionProfile<OAuth> {
  readonly #cfg: Extract<AuthConfig, { type: 'ibm-iam' }>;
  constructor(cfg: Extract<AuthConfig, { type: 'ibm-iam' }>, send: Send, gate: GateOptions) {
    super(send, gate, { stale: runningOut });
    this.#cfg = cfg;
  }
  protected async login(): Promise<OAuth> {
    let status = 0;
    let text = '';
    try {
      const res = await request(this.#cfg.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.#cfg.apiKey }),
        signal: AbortSignal.timeout(30_000),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw loginFailed(this.backend, `IAM token URL unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    if (status !== 200) throw loginFailed(this.backend, `IAM token URL answered ${status}`);
    const b = json({ headers: {}, responseCode: status, body: text });
    if (typeof b.access_token !== 'string') throw loginFailed(this.backend, 'no access_token in the IAM answer');
    return { access: b.access_token, refresh: null, expiresAt: Date.now() + Number(b.expires_in ?? 3600) * 1000 };
  }
  protected sign(call: RestCall, s: OAuth) {
    return withHeaders(call, { authorization: `Bearer ${s.access}`, 'x-ibm-tenant-id': this.#cfg.tenantId });
  }
}

/** Storware Backup & Recovery: a session cookie (whatever its name) from the login, logged out on shutdown. */
export class Storware extends SessionProfile<string> {
  readonly #cfg: Extract<AuthConfig, { type: 'storware' }>;
  constructor(cfg: Extract<AuthConfig, { type: 'storware' }>, send: Send, gate: GateOptions) {
    super(send, gate);
    this.#cfg = cfg;
  }
  protected async login() {
    const res = await this.expect(
      { method: 'POST', path: '/api/session/login', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ login: this.#cfg.username, password: this.#cfg.password }) },
      [200, 201],
    );
    const setCookie = res.headers['set-cookie'];
    if (!setCookie) throw loginFailed(this.backend, 'no session cookie in the login answer');
    // Several cookies arrive joined with ", "; a cookie's own attributes follow ";". Keep name=value pairs.
    return setCookie
      .split(/,(?=\s*[^;,=\s]+=)/)
      .map((c) => c.split(';')[0]?.trim() ?? '')
      .filter((c) => c.includes('='))
      .join('; ');
  }
  protected sign(call: RestCall, cookie: string) {
    return withHeaders(call, { cookie });
  }
  override async close() {
    const cookie = this.gate.current;
    if (!cookie) return;
    await this.send({ method: 'POST', path: '/api/session/logout', headers: { cookie } }).catch(() => {});
  }
}
