// Proxmox Backup Server: an API token, sent on every call as
// `Authorization: PBSAPIToken=<user>@<realm>!<token name>:<secret>`. No session to keep.
import type { RestCall } from '../../rest/client.js';
import { Sessionless, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec, type Signed } from './profile.js';

/** A token id as Proxmox writes it: user@realm!name. */
const TOKEN_ID = /^[^\s@!:]+@[^\s@!:]+![A-Za-z0-9][A-Za-z0-9_.-]*$/;

class ProxmoxPbs extends Sessionless {
  readonly #header: string;
  readonly #secret: string;
  readonly #strip: ReadonlySet<string>;
  constructor(values: AuthValues, ctx: ProfileContext) {
    super();
    this.#secret = value(values, 'tokenSecret');
    this.#header = `PBSAPIToken=${value(values, 'tokenId')}:${this.#secret}`;
    this.#strip = ctx.strip;
  }
  async apply(call: RestCall): Promise<Signed> {
    // Stryker disable next-line BooleanLiteral: `fresh` matters only to a profile whose 401s replace a session
    return { call: withHeaders(call, this.#strip, { authorization: this.#header }), session: 0, fresh: false };
  }
  override secrets(): readonly string[] {
    return [this.#secret, this.#header];
  }
}

export const proxmoxPbs: ProfileSpec = {
  type: 'proxmox-pbs',
  keys: { tokenId: { required: true }, tokenSecretFile: { secret: 'tokenSecret', required: true } },
  sets: { headers: ['authorization'] },
  signs: true,
  check(values, where, problems) {
    if (!TOKEN_ID.test(values.tokenId ?? '')) problems.push(`${where}.auth.tokenId: must be a Proxmox API token id, user@realm!name`);
  },
  create: (values, ctx) => new ProxmoxPbs(values, ctx),
};
