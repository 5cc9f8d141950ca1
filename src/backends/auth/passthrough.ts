// NetBackup's own way: the cloud supplies the JWT, headers go through as they are, and the
// bridge holds no credential of its own.
import type { RestCall } from '../../rest/client.js';
import { Sessionless, type ProfileSpec, type Signed } from './profile.js';

class Passthrough extends Sessionless {
  async apply(call: RestCall): Promise<Signed> {
    // Stryker disable next-line BooleanLiteral: `fresh` matters only to a profile whose 401s replace a session
    return { call, session: 0, fresh: false };
  }
}

export const passthrough: ProfileSpec = {
  type: 'passthrough',
  keys: {},
  sets: { headers: [] },
  signs: false,
  create: () => new Passthrough(),
};
