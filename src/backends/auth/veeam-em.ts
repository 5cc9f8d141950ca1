// Veeam Backup Enterprise Manager: Basic login to a session header (X-RestSvcSessionId), the
// session deleted when it is replaced and on shutdown.
import type { RestCall } from '../../rest/client.js';
import { jsonOf, loginFailed, textOf, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { SessionProfile } from './session-profile.js';

interface EmSession {
  token: string;
  sessionId: string | null;
}

class VeeamEm extends SessionProfile<EmSession> {
  readonly #basic: string;
  readonly #password: string;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx);
    this.#password = value(values, 'password');
    this.#basic = `Basic ${Buffer.from(`${value(values, 'username')}:${this.#password}`).toString('base64')}`;
  }
  protected async login(): Promise<EmSession> {
    const res = await this.expect({ method: 'POST', path: '/api/sessionMngr/?v=latest', headers: { authorization: this.#basic, accept: 'application/json' } }, [201]);
    const token = res.headers['x-restsvcsessionid'];
    if (!token) throw loginFailed(this.ctx.backend, 'no X-RestSvcSessionId in the login answer');
    const sessionId = (jsonOf(res).SessionId as string | undefined) ?? /<SessionId>([^<]+)<\/SessionId>/.exec(textOf(res))?.[1] ?? null;
    return { token, sessionId };
  }
  protected sign(call: RestCall, s: EmSession): RestCall {
    return withHeaders(call, this.ctx.strip, { 'x-restsvcsessionid': s.token });
  }
  protected override async logout(s: EmSession): Promise<void> {
    if (!s.sessionId) return;
    await this.ctx.send({ method: 'DELETE', path: `/api/logonSessions/${encodeURIComponent(s.sessionId)}`, headers: { 'x-restsvcsessionid': s.token } });
  }
  protected sessionSecrets(s: EmSession): readonly string[] {
    return s.sessionId ? [s.token, s.sessionId] : [s.token];
  }
  protected configSecrets(): readonly string[] {
    return [this.#password, this.#basic];
  }
}

export const veeamEm: ProfileSpec = {
  type: 'veeam-em',
  keys: { username: { required: true }, passwordFile: { secret: 'password', required: true } },
  sets: { headers: ['authorization', 'x-restsvcsessionid'] },
  signs: true,
  create: (values, ctx) => new VeeamEm(values, ctx),
};
