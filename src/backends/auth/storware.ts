// Storware Backup & Recovery: a session from the login, logged out when it is replaced and on
// shutdown, never passed back to the cloud. Storware's documents do not say how the session
// travels, so the login answer is read for each known way, in this order: cookies (whatever
// their names), a session header (sent back under the same name), or a token in the body (sent
// as a bearer token). Which one was seen is logged once per login.
import type { RestCall } from '../../rest/client.js';
import { loginFailed, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { SessionProfile } from './session-profile.js';

/** Response headers that may carry a session token, sent back under the same name. */
export const SESSION_HEADERS = ['x-auth-token', 'x-session-token', 'x-session-id'] as const;
/** Fields of the login answer's JSON body that may carry a session token. */
export const SESSION_FIELDS = ['token', 'sessionToken', 'sessionId', 'accessToken'] as const;

interface Session {
  /** The header that carries it on calls. */
  header: string;
  value: string;
  /** The values inside it that are secret on their own (each cookie's value). */
  parts: string[];
}

/** The session a login answer carries, or null. */
export function sessionOf(headers: Readonly<Record<string, string>>, body: string): { session: Session; how: string } | null {
  const setCookie = headers['set-cookie'];
  if (setCookie) {
    // Several cookies arrive one per line (or joined with ", " by older paths); a cookie's own attributes follow ";".
    const pairs = setCookie
      .split(/\n|,(?=\s*[^;,=\s]+=)/)
      .map((c) => c.split(';')[0]?.trim() ?? '')
      .filter((c) => c.indexOf('=') > 0);
    if (pairs.length) {
      const names = pairs.map((c) => c.slice(0, c.indexOf('=')));
      return { session: { header: 'cookie', value: pairs.join('; '), parts: pairs.map((c) => c.slice(c.indexOf('=') + 1)).filter(Boolean) }, how: `cookie ${names.join(', ')}` };
    }
  }
  for (const h of SESSION_HEADERS) {
    const v = headers[h]?.trim();
    if (v) return { session: { header: h, value: v, parts: [] }, how: `header ${h}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  for (const f of SESSION_FIELDS) {
    const v = (parsed as Record<string, unknown>)[f];
    if (typeof v === 'string' && v.trim() !== '' && !/[\r\n]/.test(v)) {
      return { session: { header: 'authorization', value: `Bearer ${v.trim()}`, parts: [v.trim()] }, how: `token in the body's "${f}", sent as a bearer token` };
    }
  }
  return null;
}

class Storware extends SessionProfile<Session> {
  readonly #username: string;
  readonly #password: string;
  #how = '';
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx);
    this.#username = value(values, 'username');
    this.#password = value(values, 'password');
  }
  protected async login(): Promise<Session> {
    const res = await this.expect(
      { method: 'POST', path: '/api/session/login', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ login: this.#username, password: this.#password }) },
      [200, 201],
    );
    const found = sessionOf(res.headers, res.bodyEncoding === 'base64' ? '' : res.body);
    if (!found) throw loginFailed(this.ctx.backend, `no session in the login answer (looked for a cookie, a header ${SESSION_HEADERS.join(', ')}, or a body field ${SESSION_FIELDS.join(', ')})`);
    if (found.how !== this.#how) {
      this.#how = found.how;
      this.ctx.log.info({ backend: this.ctx.backend, session: found.how }, 'Storware session found in the login answer');
    }
    return found.session;
  }
  protected sign(call: RestCall, s: Session): RestCall {
    return withHeaders(call, this.ctx.strip, { [s.header]: s.value });
  }
  protected override async logout(s: Session): Promise<void> {
    await this.ctx.send({ method: 'POST', path: '/api/session/logout', headers: { [s.header]: s.value } });
  }
  protected sessionSecrets(s: Session): readonly string[] {
    // The whole header value, and each part on its own (a page may echo one of them).
    return [s.value, ...s.parts];
  }
  protected configSecrets(): readonly string[] {
    return [this.#password];
  }
}

export const storware: ProfileSpec = {
  type: 'storware',
  keys: { username: { required: true }, passwordFile: { secret: 'password', required: true } },
  sets: { headers: ['cookie', 'authorization', ...SESSION_HEADERS] },
  signs: true,
  create: (values, ctx) => new Storware(values, ctx),
};
