// Storware Backup & Recovery: a session cookie (whatever its name) from the login, logged out
// when it is replaced and on shutdown; the cookie never goes back to the cloud.
import type { RestCall } from '../../rest/client.js';
import { loginFailed, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { SessionProfile } from './session-profile.js';

class Storware extends SessionProfile<string> {
  readonly #username: string;
  readonly #password: string;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx);
    this.#username = value(values, 'username');
    this.#password = value(values, 'password');
  }
  protected async login(): Promise<string> {
    const res = await this.expect(
      { method: 'POST', path: '/api/session/login', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ login: this.#username, password: this.#password }) },
      [200, 201],
    );
    const setCookie = res.headers['set-cookie'];
    if (!setCookie) throw loginFailed(this.ctx.backend, 'no session cookie in the login answer');
    // Several cookies arrive joined with ", "; a cookie's own attributes follow ";". Keep name=value pairs.
    return setCookie
      .split(/,(?=\s*[^;,=\s]+=)/)
      .map((c) => c.split(';')[0]?.trim() ?? '')
      .filter((c) => c.includes('='))
      .join('; ');
  }
  protected sign(call: RestCall, cookie: string): RestCall {
    return withHeaders(call, this.ctx.strip, { cookie });
  }
  protected override async logout(cookie: string): Promise<void> {
    await this.ctx.send({ method: 'POST', path: '/api/session/logout', headers: { cookie } });
  }
  protected sessionSecrets(cookie: string): readonly string[] {
    // The whole header, and each cookie's value on its own (a page may echo one of them).
    const values = cookie.split('; ').map((c) => c.slice(c.indexOf('=') + 1)).filter((v) => v.length > 0);
    return [cookie, ...values];
  }
  protected configSecrets(): readonly string[] {
    return [this.#password];
  }
}

export const storware: ProfileSpec = {
  type: 'storware',
  keys: { username: { required: true }, passwordFile: { secret: 'password', required: true } },
  sets: { headers: ['cookie'] },
  signs: true,
  create: (values, ctx) => new Storware(values, ctx),
};
