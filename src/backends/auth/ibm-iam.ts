// IBM Cloud Backup and Recovery as a service: an IBM Cloud API key exchanged at IAM for a bearer
// token (renewed before it runs out), sent with X-IBM-Tenant-Id. The token call goes to IAM, not
// to the backend, through a REST client of its own with the backend's CA and time limit.
import { failureOf } from '../../errors.js';
import type { RestCall, RestCaller } from '../../rest/client.js';
import { form, jsonOf, loginFailed, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { runningOut, SessionProfile, type OAuth } from './session-profile.js';

class IbmIam extends SessionProfile<OAuth> {
  readonly #apiKey: string;
  readonly #iam: RestCaller;
  /** The token URL's path and query (the client's base is its origin). */
  readonly #target: string;
  readonly #tenantId: string;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx, { stale: runningOut });
    this.#apiKey = value(values, 'apiKey');
    const tokenUrl = new URL(value(values, 'tokenUrl'));
    this.#iam = ctx.connect(tokenUrl.origin);
    this.#target = tokenUrl.pathname + tokenUrl.search;
    this.#tenantId = value(values, 'tenantId');
  }
  protected async login(): Promise<OAuth> {
    let res;
    try {
      res = await this.#iam.call({
        method: 'POST',
        path: this.#target,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.#apiKey }),
      });
    } catch (err) {
      const what = failureOf(err);
      throw loginFailed(this.ctx.backend, `IAM token URL unreachable: ${what}`);
    }
    if (res.status !== 200) throw loginFailed(this.ctx.backend, `IAM token URL answered ${res.status}`);
    const b = jsonOf(res);
    if (typeof b.access_token !== 'string') throw loginFailed(this.ctx.backend, 'no access_token in the IAM answer');
    return { access: b.access_token, refresh: null, expiresAt: Date.now() + Number(b.expires_in ?? 3600) * 1000 };
  }
  protected sign(call: RestCall, s: OAuth): RestCall {
    return withHeaders(call, this.ctx.strip, { authorization: `Bearer ${s.access}`, 'x-ibm-tenant-id': this.#tenantId });
  }
  protected sessionSecrets(s: OAuth): readonly string[] {
    return [s.access];
  }
  protected configSecrets(): readonly string[] {
    // Stryker disable next-line ArrayDeclaration: the API key goes to IAM only, never to the backend whose answers are checked
    return [this.#apiKey];
  }
}

export const ibmIam: ProfileSpec = {
  type: 'ibm-iam',
  keys: {
    apiKeyFile: { secret: 'apiKey', required: true },
    tenantId: { required: true },
    tokenUrl: { default: 'https://iam.cloud.ibm.com/identity/token', url: true },
  },
  sets: { headers: ['authorization'] },
  signs: true,
  create: (values, ctx) => new IbmIam(values, ctx),
};
