// Veeam Backup & Replication: the OAuth2 password grant, refreshed before it runs out, logged
// out when it is replaced and on shutdown; every call carries x-api-version.
import type { RestCall } from '../../rest/client.js';
import { form, jsonOf, loginFailed, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { runningOut, SessionProfile, type OAuth } from './session-profile.js';

class VeeamVbr extends SessionProfile<OAuth> {
  readonly #username: string;
  readonly #password: string;
  readonly #apiVersion: string;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx, {
      stale: runningOut,
      renew: (s) => (s.refresh ? this.#token({ grant_type: 'refresh_token', refresh_token: s.refresh }) : this.login()),
    });
    this.#username = value(values, 'username');
    this.#password = value(values, 'password');
    this.#apiVersion = value(values, 'apiVersion');
  }
  async #token(fields: Record<string, string>): Promise<OAuth> {
    const res = await this.expect(
      { method: 'POST', path: '/api/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-version': this.#apiVersion, accept: 'application/json' }, body: form(fields) },
      [200],
    );
    const b = jsonOf(res);
    if (typeof b.access_token !== 'string') throw loginFailed(this.ctx.backend, 'no access_token in the token answer');
    return { access: b.access_token, refresh: typeof b.refresh_token === 'string' ? b.refresh_token : null, expiresAt: Date.now() + Number(b.expires_in ?? 900) * 1000 };
  }
  protected login(): Promise<OAuth> {
    return this.#token({ grant_type: 'password', username: this.#username, password: this.#password });
  }
  protected sign(call: RestCall, s: OAuth): RestCall {
    return withHeaders(call, this.ctx.strip, { authorization: `Bearer ${s.access}`, 'x-api-version': this.#apiVersion });
  }
  protected override async logout(s: OAuth): Promise<void> {
    await this.ctx.send({ method: 'POST', path: '/api/oauth2/logout', headers: { authorization: `Bearer ${s.access}`, 'x-api-version': this.#apiVersion } });
  }
  protected sessionSecrets(s: OAuth): readonly string[] {
    return s.refresh ? [s.access, s.refresh] : [s.access];
  }
  protected configSecrets(): readonly string[] {
    return [this.#password];
  }
}

export const veeamVbr: ProfileSpec = {
  type: 'veeam-vbr',
  keys: { username: { required: true }, passwordFile: { secret: 'password', required: true }, apiVersion: { default: '1.1-rev2' } },
  sets: { headers: ['authorization', 'x-api-version'] },
  signs: true,
  create: (values, ctx) => new VeeamVbr(values, ctx),
};
