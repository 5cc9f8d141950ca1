// Storware Backup & Recovery: a session from the login, logged out when it is replaced and on
// shutdown, never passed back to the cloud. Storware's documents do not say how the session
// travels, so the login answer is read for every known way and all that are found are sent
// back: its cookies (whatever their names), a session header (under the same name), and a
// token in the body (as a bearer token). Which were found is logged when that changes.
import type { RestCall } from '../../rest/client.js';
import { loginFailed, textOf, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { SessionProfile } from './session-profile.js';

/** Response headers that may carry a session token, sent back under the same name. */
export const SESSION_HEADERS = ['x-auth-token', 'x-session-token', 'x-session-id'] as const;
/** Fields of the login answer's JSON body that may carry a session token. */
export const SESSION_FIELDS = ['token', 'sessionToken', 'sessionId', 'accessToken'] as const;

/** What a token must look like to be sent in a header: visible ASCII, no spaces. */
const TOKEN_VALUE = /^[\x21-\x7e]{1,4096}$/;

export interface Session {
  /** The headers that carry it on calls. */
  headers: Record<string, string>;
  /** The secret values inside them (each cookie's value, the bare token). */
  parts: string[];
}

/** A Set-Cookie line's name=value, or null for a cookie being cleared (empty, Max-Age=0, Expires past). */
function liveCookie(line: string, now: number): { pair: string; name: string; value: string } | null {
  const [first = '', ...attrs] = line.split(';');
  const eq = first.indexOf('=');
  if (eq <= 0) return null;
  const name = first.slice(0, eq).trim();
  const value = first.slice(eq + 1).trim();
  if (value === '' || value === '""' || !TOKEN_VALUE.test(`${name}${value}`)) return null;
  for (const a of attrs) {
    // Stryker disable next-line StringLiteral: an attribute without a value is neither a Max-Age nor an Expires that is read
    const [k = '', v = ''] = a.split('=').map((x) => x.trim());
    if (/^max-age$/i.test(k) && v !== '' && Number(v) <= 0) return null;
    if (/^expires$/i.test(k) && Date.parse(v) <= now) return null;
  }
  return { pair: `${name}=${value}`, name, value };
}

/** The session a login answer carries, or null: every carrier found, and how it was found. */
export function sessionOf(headers: Readonly<Record<string, string>>, body: string, now = Date.now()): { session: Session; how: string } | null {
  const session: Session = { headers: {}, parts: [] };
  const how: string[] = [];
  // Several cookies arrive one per line (or joined with ", " by older paths); a cookie's attributes follow ";".
  // Stryker disable next-line StringLiteral: without Set-Cookie there is no line with a cookie in it either way
  const cookies = (headers['set-cookie'] ?? '')
    .split(/\n|,(?=\s*[^;,=\s]+=)/)
    .map((line) => liveCookie(line, now))
    .filter((c) => c !== null);
  if (cookies.length) {
    session.headers.cookie = cookies.map((c) => c.pair).join('; ');
    session.parts.push(...cookies.map((c) => c.value));
    how.push(`cookie ${cookies.map((c) => c.name).join(', ')}`);
  }
  // Stryker disable next-line StringLiteral: a missing header is no token either way
  const header = SESSION_HEADERS.find((h) => TOKEN_VALUE.test(headers[h]?.trim() ?? ''));
  if (header) {
    const v = (headers[header] as string).trim();
    session.headers[header] = v;
    session.parts.push(v);
    how.push(`header ${header}`);
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: no token in it
  }
  // Stryker disable next-line ConditionalExpression: a JSON string or number has none of the fields looked for
  if (typeof parsed === 'object' && parsed !== null) {
    const field = SESSION_FIELDS.find((f) => {
      const v = (parsed as Record<string, unknown>)[f];
      return typeof v === 'string' && TOKEN_VALUE.test(v.trim());
    });
    if (field) {
      const v = ((parsed as Record<string, string>)[field] as string).trim();
      session.headers.authorization = `Bearer ${v}`;
      session.parts.push(v);
      how.push(`token in the body's "${field}", sent as a bearer token`);
    }
  }
  return how.length ? { session, how: how.join(' and ') } : null;
}

class Storware extends SessionProfile<Session> {
  readonly #username: string;
  readonly #password: string;
  // Stryker disable next-line StringLiteral: only decides whether a log line is written
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
    // Stryker disable next-line ConditionalExpression,StringLiteral: a base64 body is no JSON either way
    const found = sessionOf(res.headers, textOf(res));
    if (!found) throw loginFailed(this.ctx.backend, `no session in the login answer (looked for a cookie, a header ${SESSION_HEADERS.join(', ')}, and a body field ${SESSION_FIELDS.join(', ')})`);
    // Stryker disable next-line ConditionalExpression: only decides whether a log line is written
    if (found.how !== this.#how) {
      this.#how = found.how;
      this.ctx.log.info({ session: found.how }, 'Storware session found in the login answer');
    }
    return found.session;
  }
  protected sign(call: RestCall, s: Session): RestCall {
    return withHeaders(call, this.ctx.strip, s.headers);
  }
  protected override async logout(s: Session): Promise<void> {
    await this.ctx.send({ method: 'POST', path: '/api/session/logout', headers: { ...s.headers } });
  }
  protected sessionSecrets(s: Session): readonly string[] {
    // Each header value whole, and each part on its own (a page may echo one of them).
    return [...Object.values(s.headers), ...s.parts];
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
