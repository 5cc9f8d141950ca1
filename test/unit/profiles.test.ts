// Auth profiles without I/O: a backend of our own in memory answers the profile's logins.
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/backends/auth/registry.js';
import type { AuthProfile } from '../../src/backends/auth/profile.js';
import { silentLogger } from '../../src/log/logger.js';
import type { CommandResponsePayload } from '../../src/protocol/envelope.js';
import type { RestCall } from '../../src/rest/client.js';

function cohesity(): { profile: AuthProfile; calls: RestCall[] } {
  let n = 0;
  const calls: RestCall[] = [];
  const send = async (call: RestCall): Promise<CommandResponsePayload> => {
    calls.push(call);
    n++;
    return { headers: {}, responseCode: 201, body: JSON.stringify({ accessToken: `ACCESS-TOKEN-NUMBER-${n}-abcdef`, tokenType: 'Bearer' }) };
  };
  const spec = PROFILES.get('cohesity');
  if (!spec) throw new Error('no cohesity profile');
  const profile = spec.create(
    { apiKey: null, username: 'u', password: 'a-long-password', domain: 'LOCAL', tenantId: null },
    { send, backend: 'c', log: silentLogger(), reportError: () => {}, sessions: () => {}, strip: new Set(['authorization']) },
  );
  return { profile, calls };
}

describe('session profiles', () => {
  it('keep the secrets of a replaced session among those no answer may carry', async () => {
    const { profile } = cohesity();
    const call: RestCall = { method: 'GET', path: '/v2/x', headers: {} };
    const first = await profile.apply(call);
    expect(first.call.headers.authorization).toBe('Bearer ACCESS-TOKEN-NUMBER-1-abcdef');
    await profile.apply(call);
    const used = await profile.apply(call);
    expect(await profile.unauthorized(used)).toBe(true);
    const second = await profile.apply(call);
    expect(second.call.headers.authorization).toBe('Bearer ACCESS-TOKEN-NUMBER-2-abcdef');
    const secrets = profile.secrets();
    expect(secrets).toContain('a-long-password');
    expect(secrets).toContain('Bearer ACCESS-TOKEN-NUMBER-2-abcdef');
    expect(secrets).toContain('Bearer ACCESS-TOKEN-NUMBER-1-abcdef');
    expect(secrets).toContain('ACCESS-TOKEN-NUMBER-1-abcdef');
  });
});
