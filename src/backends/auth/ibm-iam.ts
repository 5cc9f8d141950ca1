// IBM Cloud Backup and Recovery as a service: an IBM Cloud API key exchanged at IAM for a bearer
// token (renewed before it runs out), sent with X-IBM-Tenant-Id. The token call goes to IAM, not
// to the backend, through a pool of its own with the backend's time limit.
import { request } from 'undici';
import type { RestCall } from '../../rest/client.js';
import { form, jsonOf, loginFailed, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec } from './profile.js';
import { runningOut, SessionProfile, type OAuth } from './session-profile.js';

/** Longest a token call to IAM may take. */
const IAM_TIMEOUT_MS = 30_000;

class IbmIam extends SessionProfile<OAuth> {
  readonly #apiKey: string;
  readonly #tokenUrl: string;
  readonly #tenantId: string;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super(ctx, { stale: runningOut });
    this.#apiKey = value(values, 'apiKey');
    this.#tokenUrl = value(values, 'tokenUrl');
    this.#tenantId = value(values, 'tenantId');
  }
  protected async login(): Promise<OAuth> {
    let status = 0;
    // Stryker disable next-line StringLiteral: set before it is read, or never read
    let text = '';
    try {
      const res = await request(this.#tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.#apiKey }),
        signal: AbortSignal.timeout(IAM_TIMEOUT_MS),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw loginFailed(this.ctx.backend, `IAM token URL unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    if (status !== 200) throw loginFailed(this.ctx.backend, `IAM token URL answered ${status}`);
    const b = jsonOf({ headers: {}, responseCode: status, body: text });
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
