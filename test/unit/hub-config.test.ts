// The hub service's configuration: sources in order, every problem named at once, secret
// files read (and never quoted), the systemd directory variables expanded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadHubConfig } from '../../src/hub/config.js';

const dir = mkdtempSync(join(tmpdir(), 'nbwss-hub-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = 'secret-key-'.repeat(4);
writeFileSync(join(dir, 'key'), `${KEY}\n`);
writeFileSync(join(dir, 'cert.pem'), 'CERT');
writeFileSync(join(dir, 'key.pem'), 'PRIVATE');
const base = { tokens: join(dir, 'tokens.json'), 'api.keyFile': join(dir, 'key') };

function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('hub configuration', () => {
  it('takes defaults, then the file, then NBWSS_HUB_*, then flags', () => {
    writeFileSync(join(dir, 'hub.json'), JSON.stringify({ listen: '127.0.0.1:1', path: '/file', heartbeatMs: 1000 }));
    const { config, warnings } = loadHubConfig({ env: { NBWSS_HUB_CONFIG: join(dir, 'hub.json'), NBWSS_HUB_PATH: '/env', NBWSS_HUB_NOPE: 'x', OTHER: 'y' }, overrides: { ...base, listen: '127.0.0.1:2' } });
    expect(config).toMatchObject({ listen: { host: '127.0.0.1', port: 2 }, path: '/env', heartbeatMs: 1000, requestTimeoutMs: 120000, api: { listen: { host: '127.0.0.1', port: 8444 }, key: KEY }, tls: null, redis: null, configFile: join(dir, 'hub.json') });
    expect(warnings).toEqual(['unknown environment variable NBWSS_HUB_NOPE ignored']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('expands ${STATE_DIRECTORY} and ${CREDENTIALS_DIRECTORY} as systemd sets them', () => {
    const { config } = loadHubConfig({ env: { STATE_DIRECTORY: '/var/lib/hub', CREDENTIALS_DIRECTORY: dir }, overrides: { tokens: '${STATE_DIRECTORY}/tokens.json', 'api.keyFile': '${CREDENTIALS_DIRECTORY}/key' } });
    expect([config.tokens, config.api.key]).toEqual(['/var/lib/hub/tokens.json', KEY]);
  });

  it('serves wss:// with both TLS files, and lets an insecure listen through only when asked', () => {
    const { config } = loadHubConfig({ env: {}, overrides: { ...base, listen: '0.0.0.0:8443', 'tls.cert': join(dir, 'cert.pem'), 'tls.key': join(dir, 'key.pem') } });
    expect(config.tls).toEqual({ cert: 'CERT', key: 'PRIVATE' });
    expect(loadHubConfig({ env: { NBWSS_HUB_ALLOW_INSECURE: 'true' }, overrides: { ...base, listen: ':8443', 'api.listen': '[::]:8444' } }).config.listen).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(problems(() => loadHubConfig({ env: {}, overrides: { ...base, 'tls.cert': join(dir, 'cert.pem') } }))).toEqual(['tls: set both tls.cert and tls.key, or neither']);
    expect(problems(() => loadHubConfig({ env: {}, overrides: { ...base, 'tls.cert': join(dir, 'none.pem'), 'tls.key': join(dir, 'key.pem') } }))[0]).toMatch(/^tls\.cert: cannot read .*ENOENT/);
  });

  it('names every bad value at once, and never quotes a Redis URL\'s password', () => {
    const found = problems(() => loadHubConfig({ env: { NBWSS_HUB_REDIS: 'http://user:pw-123@h' }, overrides: { ...base, path: 'nbwss', heartbeatMs: '5', listen: 'nope' } }));
    expect(found.join('\n')).toMatch(/^path: must be a URL path/m);
    expect(found.join('\n')).toMatch(/^heartbeatMs: /m);
    expect(found.join('\n')).toMatch(/^listen: must be host:port/m);
    expect(found.join('\n')).toMatch(/^redis: must be a redis:\/\/ or rediss:\/\/ URL/m);
    expect(found.join('\n')).not.toContain('pw-123');
    expect(problems(() => loadHubConfig({ env: {}, configFile: join(dir, 'missing.json'), overrides: base }))[0]).toMatch(/^config file: cannot read .*missing\.json: ENOENT/);
    const shared = loadHubConfig({ env: {}, overrides: { 'api.keyFile': base['api.keyFile'], redis: 'rediss://:pw@redis.internal:6380' } }).config;
    expect([shared.redis, shared.tokens]).toEqual(['rediss://:pw@redis.internal:6380', null]);
    expect(problems(() => loadHubConfig({ env: {}, overrides: { ...base, redis: 'redis://r:6379' } }))).toEqual([expect.stringMatching(/^tokens: with redis the agents' tokens are kept in Redis/)]);
  });
});
