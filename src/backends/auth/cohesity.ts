// Cohesity (IBM Backup and Recovery): an apiKey header, or an access token from a login,
// replaced on a 401. X-IBM-Tenant-Id, which an IBM-hosted cluster needs on every call, is the
// configured tenantId when one is set, else the cloud's own (it is no credential).
import type { RestCall } from '../../rest/client.js';
import { jsonOf, loginFailed, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec, type Signed } from './profile.js';
import { SessionProfile } from './session-profile.js';

class Cohesity extends SessionProfile<string> {
  readonly #v: AuthValues;
  readonly #apiKey: string | null;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx);
    this.#v = values;
    this.#apiKey = values.apiKey ?? null;
  }
  protected async login(): Promise<string> {
    if (this.#apiKey !== null) return this.#apiKey;
    const res = await this.expect(
      {
        method: 'POST',
        path: '/irisservices/api/v1/public/accessTokens',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ username: value(this.#v, 'username'), password: value(this.#v, 'password'), domain: value(this.#v, 'domain') }),
      },
      [200, 201],
    );
    const b = jsonOf(res);
    if (typeof b.accessToken !== 'string') throw loginFailed(this.ctx.backend, 'no accessToken in the login answer');
    return `${typeof b.tokenType === 'string' ? b.tokenType : 'Bearer'} ${b.accessToken}`;
  }
  protected sign(call: RestCall, credential: string): RestCall {
    const tenant: Record<string, string> = this.#v.tenantId ? { 'x-ibm-tenant-id': this.#v.tenantId } : {};
    return withHeaders(call, this.ctx.strip, this.#apiKey !== null ? { apikey: credential, ...tenant } : { authorization: credential, ...tenant });
  }
  override unauthorized(signed: Signed): Promise<boolean> {
    // An API key does not go stale: a 401 with it is about the call.
    return this.#apiKey !== null ? Promise.resolve(false) : super.unauthorized(signed);
  }
  protected sessionSecrets(credential: string): readonly string[] {
    // Stryker disable next-line Regex: a credential starts with its type, so the first "word " is the same match anchored or not
    const token = credential.replace(/^\S+ /, '');
    // Stryker disable next-line ConditionalExpression,ArrayDeclaration: without a type the credential is the API key, which is among the configuration's secrets too
    return token === credential ? [credential] : [credential, token];
  }
  protected configSecrets(): readonly string[] {
    return [this.#v.apiKey, this.#v.password].filter((s): s is string => typeof s === 'string');
  }
}

export const cohesity: ProfileSpec = {
  type: 'cohesity',
  keys: {
    apiKeyFile: { secret: 'apiKey' },
    username: {},
    passwordFile: { secret: 'password' },
    domain: { default: 'LOCAL' },
    tenantId: {},
  },
  sets: { headers: ['authorization', 'apikey'] },
  signs: true,
  check(values, where, problems) {
    if (typeof values.apiKey === 'string') return;
    if (!values.username) problems.push(`${where}.auth.username: required for auth type cohesity (or set apiKeyFile)`);
    if (!values.password) problems.push(`${where}.auth.passwordFile: required for auth type cohesity (or set apiKeyFile)`);
  },
  create: (values, ctx) => new Cohesity(values, ctx),
};
