// A local NetBackup API key in Authorization, replacing whatever the cloud sent.
import type { RestCall } from '../../rest/client.js';
import { Sessionless, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec, type Signed } from './profile.js';

class NetBackupApiKey extends Sessionless {
  readonly #key: string;
  readonly #strip: ReadonlySet<string>;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super();
    this.#key = value(values, 'apiKey');
    this.#strip = ctx.strip;
  }
  async apply(call: RestCall): Promise<Signed> {
    // Stryker disable next-line BooleanLiteral: `fresh` matters only to a profile whose 401s replace a session
    return { call: withHeaders(call, this.#strip, { authorization: this.#key }), session: 0, fresh: false };
  }
  override secrets(): readonly string[] {
    return [this.#key];
  }
}

export const netbackupApiKey: ProfileSpec = {
  type: 'netbackup-apikey',
  keys: { apiKeyFile: { secret: 'apiKey', required: true } },
  sets: { headers: ['authorization'] },
  signs: true,
  create: (values, ctx) => new NetBackupApiKey(values, ctx),
};
