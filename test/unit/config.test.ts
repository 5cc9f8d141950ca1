import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sameHost } from '../../src/config/endpoints.js';
import { isLoopbackHost, loadConfig, redactedConfig, type LoadOptions } from '../../src/config/load.js';
import { credentialName } from '../../src/config/files.js';
import { schemaLeaves } from '../../src/config/leaves.js';
import { ConfigError } from '../../src/errors.js';
import { Policy } from '../../src/policy/allow.js';

const dir = mkdtempSync(join(tmpdir(), 'nbwss-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const RUN = { NBWSS_CLOUD_URL: 'wss://cloud.example/nbwss', NBWSS_CLOUD_TOKEN: 'tok-secret' };
const load = (o: Partial<LoadOptions> = {}) => loadConfig({ env: {}, purpose: 'rest', ...o }).config;
const problems = (o: Partial<LoadOptions>): string[] => {
  try {
    loadConfig({ env: {}, purpose: 'run', ...o });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('NBW_ERR_CONFIG');
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
};

describe('config: the default file and systemd credentials', () => {
  it('reads the default file only when nothing else names one and it exists', () => {
    const def = file('default.json', JSON.stringify({ queue: { concurrency: 3 } }));
    const other = file('other.json', JSON.stringify({ queue: { concurrency: 5 } }));
    expect(load({ defaultFile: def }).queue.concurrency).toBe(3);
    expect(load({ defaultFile: def }).configFile).toBe(def);
    expect(load({ defaultFile: join(dir, 'absent.json') }).configFile).toBeNull();
    expect(load({ defaultFile: def, configFile: other }).queue.concurrency).toBe(5);
    expect(load({ defaultFile: def, env: { NBWSS_CONFIG: other } }).queue.concurrency).toBe(5);
  });

  it('reads a secret file from systemd\'s credential named after its path when there is one, else from the path', () => {
    const creds = mkdtempSync(join(tmpdir(), 'nbwss-creds-'));
    const source = file('token', 'from-the-source\n');
    writeFileSync(join(creds, credentialName(source)), 'from-systemd\n');
    // Another file of the same name is not this one's credential.
    writeFileSync(join(creds, 'token'), 'another-token\n');
    const env = { NBWSS_CLOUD_URL: RUN.NBWSS_CLOUD_URL, NBWSS_CLOUD_TOKEN_FILE: source };
    expect(loadConfig({ env: { ...env, CREDENTIALS_DIRECTORY: creds }, purpose: 'run' }).config.cloud.token).toBe('from-systemd');
    expect(loadConfig({ env, purpose: 'run' }).config.cloud.token).toBe('from-the-source');
    const none = mkdtempSync(join(tmpdir(), 'nbwss-creds-'));
    expect(loadConfig({ env: { ...env, CREDENTIALS_DIRECTORY: none }, purpose: 'run' }).config.cloud.token).toBe('from-the-source');
    expect(credentialName('/etc/nbwss-bridge/token')).toBe('etc_nbwss-bridge_token.83d854cb');
    // Spelt differently, the same file; files whose readable parts agree are still told apart.
    expect(credentialName('/etc//nbwss-bridge/./token')).toBe(credentialName('/etc/nbwss-bridge/token'));
    expect(credentialName('/etc/a_/b')).not.toBe(credentialName('/etc/a/_b'));
    // The name 0.1.0's unit gave the token is still read.
    const legacy = mkdtempSync(join(tmpdir(), 'nbwss-creds-'));
    writeFileSync(join(legacy, 'token'), 'from-an-old-unit\n');
    expect(loadConfig({ env: { NBWSS_CLOUD_URL: RUN.NBWSS_CLOUD_URL, NBWSS_CLOUD_TOKEN_FILE: '/etc/nbwss-bridge/token', CREDENTIALS_DIRECTORY: legacy }, purpose: 'run' }).config.cloud.token).toBe('from-an-old-unit');
  });

  it('says where ${CREDENTIALS_DIRECTORY} is set, and what to write outside the unit', () => {
    expect(problems({ env: { NBWSS_CLOUD_URL: RUN.NBWSS_CLOUD_URL, NBWSS_CLOUD_TOKEN_FILE: '${CREDENTIALS_DIRECTORY}/token' } })).toEqual([
      'cloud.tokenFile: ${CREDENTIALS_DIRECTORY} is not set in the environment (only CREDENTIALS_DIRECTORY, STATE_DIRECTORY are expanded; systemd sets it in the unit only: outside it, name the file itself (e.g. /etc/nbwss-bridge/token))',
    ]);
  });
});

describe('config: the keys of field deployment', () => {
  it('takes a host name for rest.servername (and a backend\'s), a log format, and a probe period; refuses anything else naming the key', () => {
    expect(load({ env: { NBWSS_REST_SERVERNAME: ' NBU-Primary.corp.example ', NBWSS_LOG_FORMAT: 'PRETTY', NBWSS_REST_PROBE_MS: '500' } })).toMatchObject({ rest: { servername: 'NBU-Primary.corp.example', probeMs: 500 }, log: { format: 'pretty' } });
    expect(load().backends[0]?.servername).toBeNull();
    const bad = problems({ env: { ...RUN, NBWSS_REST_SERVERNAME: 'https://nbu:1556', NBWSS_LOG_FORMAT: 'xml', NBWSS_REST_PROBE_MS: '5' } }).join('\n');
    expect(bad).toMatch(/rest\.servername: must be a host name such as/);
    expect(bad).toMatch(/log\.format: must be one of auto, json, pretty/);
    expect(bad).toMatch(/rest\.probeMs: must be a whole number of at least 100/);
    const f = file('servername.json', JSON.stringify({ backends: [{ name: 'v', mount: '/v', baseUrl: 'https://v:9398', servername: 'bad name', allowedPaths: ['/api/'], auth: { type: 'passthrough' } }] }));
    expect(problems({ env: RUN, configFile: f })).toContain('backends[0].servername: must be a host name such as nbu-primary.example.com (no scheme, port or path)');
    const g = file('servername-ok.json', JSON.stringify({ backends: [{ name: 'v', mount: '/v', baseUrl: 'https://v:9398', servername: 'v.corp', allowedPaths: ['/api/'], auth: { type: 'passthrough' } }] }));
    expect(load({ configFile: g }).backends[0]?.servername).toBe('v.corp');
  });
});

describe('config: defaults and sources', () => {
  it('has the documented defaults', () => {
    const c = load();
    expect(c.rest).toMatchObject({ baseUrl: 'https://localhost:1556', timeoutMs: 120000, allowedPaths: ['/netbackup/'] });
    expect(c.rest.allowedMethods).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
    expect(c.queue).toEqual({ concurrency: 8, maxPending: 1000 });
    expect(c.reconnect).toEqual({ minMs: 1000, maxMs: 60000 });
    expect(c.heartbeat.intervalMs).toBe(30000);
    expect(c.log.level).toBe('info');
    expect(c.cloud.maxMessageBytes).toBe(16 * 1024 * 1024);
  });

  it('has NetBackup\'s defaults where NetBackup has one: resend after 5 s, two missed pongs allowed, no fail-back while connected; extensions on', () => {
    const c = load();
    expect(c.notifications.ackTimeoutMs).toBe(5000);
    expect(c.heartbeat).toEqual({ intervalMs: 30000, maxMissedPongs: 2 });
    expect(c.connection).toEqual({ periodMs: 60000, failBack: false });
    expect(c.protocol.extensions).toBe(true);
    expect(load({ env: { NBWSS_HEARTBEAT_MAX_MISSED_PONGS: '0', NBWSS_FAIL_BACK: 'true', NBWSS_PROTOCOL_EXTENSIONS: 'false' } })).toMatchObject({
      heartbeat: { maxMissedPongs: 0 }, connection: { failBack: true }, protocol: { extensions: false },
    });
    expect(problems({ env: { ...RUN, NBWSS_HEARTBEAT_MAX_MISSED_PONGS: '101' } }).join('\n')).toMatch(/heartbeat\.maxMissedPongs: must be a whole number from 0 to 100/);
  });

  it('reads every documented NBWSS_* variable', () => {
    const ca = readFileSync(new URL('../support/tls/ca.pem', import.meta.url), 'utf8');
    const caFile = file('ca.pem', ca);
    const c = loadConfig({
      purpose: 'run',
      env: {
        ...RUN,
        NBWSS_CLOUD_CA_FILE: caFile,
        NBWSS_REST_BASE_URL: 'http://127.0.0.1:9999',
        NBWSS_REST_CA_FILE: caFile,
        NBWSS_REST_TIMEOUT_MS: '400',
        NBWSS_ALLOWED_PATHS: '/netbackup/admin/, /netbackup/catalog/',
        NBWSS_CONCURRENCY: '3',
        NBWSS_MAX_PENDING: '2',
        NBWSS_RECONNECT_MIN_MS: '100',
        NBWSS_RECONNECT_MAX_MS: '1000',
        NBWSS_HEARTBEAT_MS: '5000',
        NBWSS_LOG_LEVEL: 'DEBUG',
      },
    }).config;
    expect(c.cloud).toMatchObject({ url: 'wss://cloud.example/nbwss', token: 'tok-secret', caFile, ca });
    expect(c.rest).toMatchObject({ baseUrl: 'http://127.0.0.1:9999', caFile, ca, timeoutMs: 400, allowedPaths: ['/netbackup/admin/', '/netbackup/catalog/'] });
    expect(c.queue).toEqual({ concurrency: 3, maxPending: 2 });
    expect(c.reconnect).toEqual({ minMs: 100, maxMs: 1000 });
    expect(c.heartbeat.intervalMs).toBe(5000);
    expect(c.log.level).toBe('debug');
  });

  it('layers defaults < file < environment < flags', () => {
    const cfg = file('layers.json', JSON.stringify({ queue: { concurrency: 2, maxPending: 5 }, rest: { timeoutMs: 1000 }, log: { level: 'warn' } }));
    const c = load({
      configFile: cfg,
      env: { NBWSS_CONCURRENCY: '4', NBWSS_REST_TIMEOUT_MS: '2000' },
      overrides: { 'queue.concurrency': '6' },
    });
    expect(c.queue).toEqual({ concurrency: 6, maxPending: 5 });
    expect(c.rest.timeoutMs).toBe(2000);
    expect(c.log.level).toBe('warn');
    expect(c.configFile).toBe(cfg);
  });

  it('finds the config file through NBWSS_CONFIG, and --config wins over it', () => {
    const a = file('a.json', '{"queue":{"concurrency":11}}');
    const b = file('b.json', '{"queue":{"concurrency":12}}');
    expect(load({ env: { NBWSS_CONFIG: a } }).queue.concurrency).toBe(11);
    expect(load({ env: { NBWSS_CONFIG: a }, configFile: b }).queue.concurrency).toBe(12);
  });

  it('ignores empty variables', () => {
    expect(load({ env: { NBWSS_CONCURRENCY: '' } }).queue.concurrency).toBe(8);
  });

  it('reads the token from a file, trimming one trailing newline, and expands ${CREDENTIALS_DIRECTORY}', () => {
    file('token', 'tok-from-file\n');
    const c = loadConfig({
      purpose: 'run',
      env: { NBWSS_CLOUD_URL: RUN.NBWSS_CLOUD_URL, NBWSS_CLOUD_TOKEN_FILE: '${CREDENTIALS_DIRECTORY}/token', CREDENTIALS_DIRECTORY: dir },
    }).config;
    expect(c.cloud.token).toBe('tok-from-file');
    expect(c.cloud.tokenFile).toBe('${CREDENTIALS_DIRECTORY}/token');
  });

  it('returns a deeply frozen object', () => {
    const c = load();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.rest)).toBe(true);
    expect(Object.isFrozen(c.rest.allowedPaths)).toBe(true);
  });

  it('warns about unknown NBWSS_ variables (typos) without failing', () => {
    const { warnings } = loadConfig({ env: { NBWSS_CONCURENCY: '3' }, purpose: 'rest' });
    expect(warnings).toEqual(['unknown environment variable NBWSS_CONCURENCY ignored']);
  });

  it('accepts flags for boolean keys and yes/no spellings', () => {
    expect(load({ overrides: { 'cloud.allowInsecure': 'true' } }).cloud.allowInsecure).toBe(true);
    expect(load({ env: { NBWSS_CLOUD_ALLOW_INSECURE: 'yes' } }).cloud.allowInsecure).toBe(true);
    expect(load({ env: { NBWSS_CLOUD_ALLOW_INSECURE: 'off' } }).cloud.allowInsecure).toBe(false);
  });
});

describe('config: bad values stop start-up with one line naming the key', () => {
  const cases: [string, Partial<LoadOptions>, RegExp][] = [
    ['a concurrency that is not a number', { env: { ...RUN, NBWSS_CONCURRENCY: 'eight' } }, /^queue\.concurrency: must be a whole number of at least 1: value was "eight"$/],
    ['a zero concurrency', { env: { ...RUN, NBWSS_CONCURRENCY: '0' } }, /^queue\.concurrency: must be a whole number of at least 1/],
    ['a negative timeout', { env: { ...RUN, NBWSS_REST_TIMEOUT_MS: '-5' } }, /^rest\.timeoutMs: /],
    ['a cloud URL that is not ws', { env: { ...RUN, NBWSS_CLOUD_URL: 'https://cloud.example' } }, /^cloud\.url: must be a ws or wss URL/],
    ['a REST URL that is not http', { env: { ...RUN, NBWSS_REST_BASE_URL: 'ftp://x' } }, /^rest\.baseUrl: must be a http or https URL/],
    ['a REST URL with a query', { env: { ...RUN, NBWSS_REST_BASE_URL: 'https://x/?a=1' } }, /^rest\.baseUrl: must not have a query/],
    ['an unknown log level', { env: { ...RUN, NBWSS_LOG_LEVEL: 'loud' } }, /^log\.level: must be one of fatal, error/],
    ['a relative allowed path', { env: { ...RUN, NBWSS_ALLOWED_PATHS: 'netbackup/' } }, /^rest\.allowedPaths: each path must be a plain absolute path/],
    ['an allowed path with ..', { env: { ...RUN, NBWSS_ALLOWED_PATHS: '/netbackup/../' } }, /^rest\.allowedPaths: /],
    ['an unknown method', { overrides: { 'rest.allowedMethods': 'GET,BREW' } }, /^rest\.allowedMethods: each method must be one of/],
    ['a bad boolean', { env: { ...RUN, NBWSS_CLOUD_ALLOW_INSECURE: 'maybe' } }, /^cloud\.allowInsecure: must be true or false/],
    ['a missing cloud URL', { env: { NBWSS_CLOUD_TOKEN: 'x' } }, /^cloud\.url: required/],
    ['a missing token', { env: { NBWSS_CLOUD_URL: 'wss://c.example' } }, /^cloud\.token: required/],
    ['plain ws:// to a remote host', { env: { ...RUN, NBWSS_CLOUD_URL: 'ws://cloud.example/x' } }, /^cloud\.url: plain ws:\/\/ to cloud\.example would send tokens and JWTs in clear text/],
    ['min backoff above max', { env: { ...RUN, NBWSS_RECONNECT_MIN_MS: '5000', NBWSS_RECONNECT_MAX_MS: '100' } }, /^reconnect\.minMs: 5000 is greater than reconnect\.maxMs 100$/],
    ['min login wait above max', { env: { ...RUN, NBWSS_LOGIN_MIN_MS: '5000', NBWSS_LOGIN_MAX_MS: '100' } }, /^login\.minMs: 5000 is greater than login\.maxMs 100$/],
    ['an unreadable token file', { env: { NBWSS_CLOUD_URL: 'wss://c.example', NBWSS_CLOUD_TOKEN_FILE: '/nonexistent/token' } }, /^cloud\.tokenFile: cannot read \/nonexistent\/token: ENOENT$/],
    ['both token and token file', { env: { ...RUN, NBWSS_CLOUD_TOKEN_FILE: '/x' } }, /^cloud\.token: set either cloud\.token or cloud\.tokenFile, not both$/],
    ['an unreadable CA file', { env: { ...RUN, NBWSS_REST_CA_FILE: '/nonexistent/ca.pem' } }, /^rest\.caFile: cannot read \/nonexistent\/ca\.pem: ENOENT$/],
    ['a CA file without a certificate', { env: { ...RUN, NBWSS_CLOUD_CA_FILE: file('not-a-ca.pem', 'hello') } }, /^cloud\.caFile: .* holds no PEM certificate$/],
    ['an unset ${VAR} in a path', { env: { ...RUN, NBWSS_CLOUD_CA_FILE: '${CREDENTIALS_DIRECTORY}/ca.pem' } }, /^cloud\.caFile: \$\{CREDENTIALS_DIRECTORY\} is not set/],
    ['an unknown key in the file', { env: RUN, configFile: file('unknown.json', '{"queue":{"concurrenzy":3}}') }, /^configuration param 'queue\.concurrenzy' not declared in the schema$/],
    ['a config file that is not JSON', { env: RUN, configFile: file('bad.json', '{ queue: 1') }, /^config file .*bad\.json: not valid JSON/],
    ['a config file that is not an object', { env: RUN, configFile: file('array.json', '[1]') }, /^config file .*array\.json: must hold a JSON object$/],
    ['a missing config file', { env: RUN, configFile: '/nonexistent/config.json' }, /^config file: cannot read \/nonexistent\/config\.json: ENOENT$/],
  ];
  it.each(cases)('%s', (_, opts, expected) => {
    const lines = problems(opts);
    expect(lines.some((l) => expected.test(l)), lines.join('\n')).toBe(true);
    for (const l of lines) expect(l).not.toContain('\n');
  });

  it('reports every problem, not only the first', () => {
    const lines = problems({ env: { ...RUN, NBWSS_CONCURRENCY: 'x', NBWSS_MAX_PENDING: 'y', NBWSS_LOG_LEVEL: 'z' } });
    expect(lines.length).toBeGreaterThanOrEqual(3);
  });

  it('never prints the token in a problem', () => {
    const lines = problems({ env: { ...RUN, NBWSS_CLOUD_TOKEN: '   ' } });
    expect(lines.join('\n')).toMatch(/cloud\.token: must be a non-empty string/);
    const withFile = problems({ env: { ...RUN, NBWSS_CLOUD_TOKEN_FILE: '/x' } });
    expect(withFile.join('\n')).not.toContain('tok-secret');
  });

  it('allows plain ws:// to loopback, and elsewhere only with cloud.allowInsecure', () => {
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.1.2.3']) {
      expect(loadConfig({ purpose: 'run', env: { ...RUN, NBWSS_CLOUD_URL: `ws://${host}:8080/x` } }).config.cloud.url).toContain(host);
    }
    const c = loadConfig({ purpose: 'run', env: { ...RUN, NBWSS_CLOUD_URL: 'ws://cloud.example/x', NBWSS_CLOUD_ALLOW_INSECURE: 'true' } });
    expect(c.config.cloud.allowInsecure).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('counts only literal loopback addresses and localhost itself as loopback', () => {
    for (const host of ['evil.localhost', 'localhost.example', '127.0.0.1.nip.io', '0.0.0.0']) {
      expect(isLoopbackHost(host)).toBe(false);
      const lines = problems({ env: { ...RUN, NBWSS_CLOUD_URL: `ws://${host}:8080/x` } });
      expect(lines.join('\n')).toMatch(/clear text/);
    }
    expect(isLoopbackHost('LOCALHOST')).toBe(true);
  });
});

describe('config: the backends example', () => {
  it('config/backends.example.json is valid once its files exist, and check-config hides every secret', () => {
    const example = JSON.parse(readFileSync(new URL('../../config/backends.example.json', import.meta.url), 'utf8'));
    const ca = readFileSync(new URL('../support/tls/ca.pem', import.meta.url), 'utf8');
    for (const b of example.backends) {
      if (b.caFile) b.caFile = file(`${b.name}-ca.pem`, ca);
      if (b.auth.passwordFile) b.auth.passwordFile = file(`${b.name}.pw`, `pw-of-${b.name}\n`);
    }
    example.cloud.tokenFile = file('example-token', 'tok\n');
    const { config } = loadConfig({ env: {}, configFile: file('backends.json', JSON.stringify(example)), purpose: 'run' });
    expect(config.backends.map((b) => `${b.name}:${b.mount}:${b.auth.type}`)).toEqual([
      'netbackup:/:passthrough',
      'veeam-em:/veeam-em:veeam-em',
      'veeam-vbr:/veeam-vbr:veeam-vbr',
      'cohesity:/cohesity:cohesity',
      'ahsay:/ahsay:ahsay',
      'storware:/storware:storware',
    ]);
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toMatch(/pw-of-/);
    expect(shown).toContain('"password":"[redacted]"');
  });

  it('allows each product only what a cloud application needs: no session, token, credential or user management', () => {
    const example = JSON.parse(readFileSync(new URL('../../config/backends.example.json', import.meta.url), 'utf8'));
    const policy = (name: string) => {
      const b = example.backends.find((x: { name: string }) => x.name === name);
      return new Policy({ allowedPaths: b.allowedPaths, allowedMethods: b.allowedMethods ?? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] });
    };
    const refused: [string, string][] = [
      ['netbackup', '/netbackup/security/users'],
      ['netbackup', '/netbackup/security/api-keys'],
      ['netbackup', '/netbackup/security/certificates'],
      ['veeam-em', '/api/logonSessions/x'],
      ['veeam-em', '/api/sessionMngr/'],
      ['veeam-vbr', '/api/v1/credentials'],
      ['veeam-vbr', '/api/oauth2/token'],
      ['cohesity', '/irisservices/api/v1/public/accessTokens'],
      ['cohesity', '/irisservices/api/v1/public/users'],
      ['cohesity', '/v2/users'],
      ['ahsay', '/obs/api/json/2/AddUser.do'],
      ['ahsay', '/obs/api/json/2/RemoveUser.do'],
      ['storware', '/api/session/login'],
      ['storware', '/api/users'],
    ];
    for (const [name, uri] of refused) expect(policy(name).check('POST', uri).ok, `${name} ${uri}`).toBe(false);
    expect(policy('veeam-em').check('GET', '/api/jobs').ok).toBe(true);
    expect(policy('ahsay').check('POST', '/cbs/api/json/GetUserStatus.do').ok).toBe(true);
    expect(policy('ahsay').check('POST', '/cbs/api/json/GetServerRunJobStatus.do').ok).toBe(true);
    expect(policy('netbackup').check('GET', '/netbackup/admin/jobs').ok).toBe(true);
  });
});

describe('config: redacted view', () => {
  it('hides the token and CA contents', () => {
    const c = loadConfig({ purpose: 'run', env: RUN }).config;
    const text = JSON.stringify(redactedConfig(c));
    expect(text).not.toContain('tok-secret');
    expect(text).toContain('"token":"[redacted]"');
  });

  it('hides the proxy credentials and the notifications API key', () => {
    const key = file('notify-key', 'notify-api-key-value\n');
    const state = mkdtempSync(join(tmpdir(), 'nbwss-state-'));
    const c = loadConfig({
      purpose: 'run',
      env: { ...RUN, NBWSS_CLOUD_PROXY: 'http://proxyuser:proxy-pass-value@proxy.corp:3128', NBWSS_NOTIFY_JOBS: 'true', NBWSS_NOTIFY_API_KEY_FILE: key, NBWSS_STATE_DIR: state },
    }).config;
    expect(c.notifications.apiKey).toBe('notify-api-key-value');
    const text = JSON.stringify(redactedConfig(c));
    expect(text).not.toContain('proxy-pass-value');
    expect(text).not.toContain('proxyuser');
    expect(text).not.toContain('notify-api-key-value');
    expect(text).toContain('proxy.corp:3128');
  });
});

describe('config: schema', () => {
  it('is documented in the README: every key, variable and flag', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const leaf of schemaLeaves()) {
      expect(readme, leaf.key).toContain(`| \`${leaf.key}\` |`);
      if (leaf.env) expect(readme, leaf.key).toContain(`\`${leaf.env}\``);
      if (leaf.flag) expect(readme, leaf.key).toContain(`\`--${leaf.flag}\``);
    }
  });

  it('has every key in the example config file', () => {
    const example = JSON.parse(readFileSync(new URL('../../config/config.example.json', import.meta.url), 'utf8'));
    for (const leaf of schemaLeaves()) {
      if (leaf.key === 'cloud.token') continue;
      const value = leaf.key.split('.').reduce<Record<string, unknown> | undefined>((o, k) => o?.[k] as Record<string, unknown> | undefined, example);
      expect(value, leaf.key).not.toBeUndefined();
    }
  });

  it('gives every key a doc, and every key but the token an environment variable and a flag', () => {
    for (const leaf of schemaLeaves()) {
      expect(leaf.doc, leaf.key).not.toBe('');
      if (leaf.key === 'cloud.endpoints' || leaf.key === 'backends') continue; // lists of objects: config file only
      expect(leaf.env, leaf.key).toMatch(/^NBWSS_/);
      if (leaf.key !== 'cloud.token') expect(leaf.flag, leaf.key).toBeTruthy();
    }
  });
});

describe('config: problems never echo a secret', () => {
  const SECRET = 'Hunter2-secret-value';
  it('prints a bad cloud.url without its user:password and query', () => {
    const lines = problems({ env: { ...RUN, NBWSS_CLOUD_URL: `wss://admin:${SECRET}@cloud.example/x?key=${SECRET}` } }).join('\n');
    expect(lines).toMatch(/cloud\.url: must not carry credentials/);
    expect(lines).not.toContain(SECRET);
    expect(lines).toContain('wss://***@cloud.example/x?[redacted]');
  });

  it('hides credentials of URLs written without "//", and of URLs without a host', () => {
    for (const [name, value] of [
      ['NBWSS_REST_BASE_URL', `https:admin:${SECRET}@localhost:1556`],
      ['NBWSS_CLOUD_URL', `wss:user:${SECRET}@cloud.example/x`],
      ['NBWSS_REST_BASE_URL', `https:host.example/?apikey=${SECRET}`],
    ] as const) {
      const lines = problems({ env: { ...RUN, [name]: value } }).join('\n');
      expect(lines).not.toContain(SECRET);
    }
    const proxy = problems({ env: { ...RUN, HTTPS_PROXY: `socks5:user:${SECRET}@proxy:1080` } }).join('\n');
    expect(proxy).toMatch(/HTTPS_PROXY: not a proxy URL: socks5:\[redacted\]/);
    expect(proxy).not.toContain(SECRET);
  });

  it('refuses a cloud URL with a fragment, which no WebSocket client can dial', () => {
    expect(problems({ env: { ...RUN, NBWSS_CLOUD_URL: 'ws://127.0.0.1:9/x#frag' } }).join('\n')).toMatch(/cloud\.url: must not have a fragment/);
    const cfg = file('fragment-endpoint.json', JSON.stringify({ cloud: { endpoints: [{ url: 'wss://c.example/x#f', token: 't' }] } }));
    expect(problems({ configFile: cfg }).join('\n')).toMatch(/\[0\]\.url must not have a fragment/);
  });

  it('never prints the token of a bad cloud.endpoints entry, nor a token URL query', () => {
    const cfg = file('bad-endpoints.json', JSON.stringify({ cloud: { endpoints: [{ url: `wss://c.example/x?t=${SECRET}`, token: SECRET, extra: 1 }] } }));
    const lines = problems({ configFile: cfg }).join('\n');
    expect(lines).toMatch(/unknown key "extra"/);
    expect(lines).not.toContain(SECRET);
  });

  it('names where a config or endpoints file is not JSON without quoting it', () => {
    const cfg = file('broken.json', `{"cloud": {"token": "${SECRET}" "url": 1}}`);
    const lines = problems({ configFile: cfg }).join('\n');
    expect(lines).toMatch(/not valid JSON/);
    expect(lines).not.toContain(SECRET);
    const eps = file('broken-endpoints.json', `[{"url": "wss://c.example/x", "token": "${SECRET}",}]`);
    const more = problems({ env: { NBWSS_ENDPOINTS_FILE: eps } }).join('\n');
    expect(more).toMatch(/cloud\.endpointsFile: .* is not valid JSON/);
    expect(more).not.toContain(SECRET);
  });

  it('check-config shows URLs without credentials or query', () => {
    const cfg = file('query.json', JSON.stringify({ cloud: { url: `wss://c.example/x?k=${SECRET}`, token: 't', endpoints: [{ url: `wss://d.example/y?k=${SECRET}`, token: SECRET, group: 'g' }] } }));
    const text = JSON.stringify(redactedConfig(loadConfig({ env: {}, configFile: cfg, purpose: 'run' }).config));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('wss://c.example/x?[redacted]');
  });
});

describe('config: TLS checks cannot be switched off behind the bridge\'s back', () => {
  it('refuses to start with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment, saying why', () => {
    const lines = problems({ env: { ...RUN, NODE_TLS_REJECT_UNAUTHORIZED: '0' } }).join('\n');
    expect(lines).toMatch(/NODE_TLS_REJECT_UNAUTHORIZED=0 .*turns off every certificate check/);
    expect(() => loadConfig({ env: { ...RUN, NODE_TLS_REJECT_UNAUTHORIZED: '1' }, purpose: 'run' })).not.toThrow();
  });
});

describe('config: endpoint details as NetBackup takes them', () => {
  const FIXTURE = join(import.meta.dirname, '../../fixtures/nbwss/endpoint-details.json');
  const endpointsOf = (env: Record<string, string>) => loadConfig({ env, purpose: 'run' });

  it('accepts the endpoint details file NetBackup uses unchanged (url, token, groupId, priority, hostName)', () => {
    const { config, warnings } = endpointsOf({ NBWSS_ENDPOINTS_FILE: FIXTURE });
    expect(config.cloud.endpoints.map((e) => [e.group, e.priority, e.url])).toEqual([
      ['east', 1, 'wss://cloud-east.example.com:443/nbwss/agents'],
      ['east', 2, 'wss://cloud-east-2.example.com/nbwss/agents'],
      ['west', 1, 'wss://cloud-west.example.com/nbwss/agents'],
    ]);
    expect(warnings).toEqual([]);
  });

  it('takes a list, {"endpoints": [...]} or one endpoint object', () => {
    const one = { url: 'wss://c.example/x', token: 't', groupId: 'g1', priority: 0, hostName: 'c.example' };
    for (const doc of [[one], { endpoints: [one] }, one]) {
      const { config } = endpointsOf({ NBWSS_ENDPOINTS_FILE: file(`eps-${Math.random()}.json`, JSON.stringify(doc)) });
      expect(config.cloud.endpoints).toEqual([{ url: 'wss://c.example/x', token: 't', tokenFile: null, group: 'g1', priority: 0 }]);
    }
    const lines = problems({ env: { NBWSS_ENDPOINTS_FILE: file('eps-neither.json', '{"hosts": []}') } }).join('\n');
    expect(lines).toMatch(/must hold a list of endpoints, \{"endpoints": \[\.\.\.\]\} or one endpoint object/);
  });

  it('keeps group as an alias of groupId, takes a numeric groupId, and refuses two different names', () => {
    const eps = (e: object) => file(`eps-${Math.random()}.json`, JSON.stringify([{ url: 'wss://c.example/x', token: 't', ...e }]));
    expect(endpointsOf({ NBWSS_ENDPOINTS_FILE: eps({ group: 'old' }) }).config.cloud.endpoints[0]?.group).toBe('old');
    expect(endpointsOf({ NBWSS_ENDPOINTS_FILE: eps({ groupId: 7 }) }).config.cloud.endpoints[0]?.group).toBe('7');
    expect(endpointsOf({ NBWSS_ENDPOINTS_FILE: eps({ groupId: 'a', group: 'a' }) }).config.cloud.endpoints[0]?.group).toBe('a');
    expect(problems({ env: { NBWSS_ENDPOINTS_FILE: eps({ groupId: 'a', group: 'b' }) } }).join('\n')).toMatch(/\[0\] has groupId "a" and group "b"; group is an alias of groupId/);
    expect(problems({ env: { NBWSS_ENDPOINTS_FILE: eps({ groupId: 'a b' }) } }).join('\n')).toMatch(/\[0\]\.groupId must be a name/);
    expect(problems({ env: { NBWSS_ENDPOINTS_FILE: eps({ groupId: -1 }) } }).join('\n')).toMatch(/\[0\]\.groupId must be a name/);
    expect(problems({ env: { NBWSS_ENDPOINTS_FILE: eps({ hostName: 'a/b' }) } }).join('\n')).toMatch(/\[0\]\.hostName must be a host name/);
    expect(problems({ env: { NBWSS_ENDPOINTS_FILE: eps({ hostName: 3 }) } }).join('\n')).toMatch(/\[0\]\.hostName must be a host name/);
  });

  it('says when hostName is not the host of the url, and still dials the url', () => {
    const eps = file('eps-host.json', JSON.stringify([
      { url: 'wss://c.example/x', token: 't', hostName: 'other.example' },
      { url: 'wss://C.Example./y', token: 't', hostName: 'c.example' },
      { url: 'wss://[::1]:9/z', token: 't', hostName: '::1' },
    ]));
    const { config, warnings } = endpointsOf({ NBWSS_ENDPOINTS_FILE: eps });
    expect(config.cloud.endpoints).toHaveLength(3);
    expect(warnings).toEqual([
      'cloud.endpointsFile[0]: hostName "other.example" is not the host of its url (c.example); the bridge dials the url and checks the certificate against c.example',
    ]);
  });

  it('compares hostName with the url\'s host as a URL parser reads both', () => {
    const pairs: [string, string, boolean][] = [
      ['c.example', 'wss://c.example/x', true],
      ['C.EXAMPLE.', 'wss://c.example/x', true],
      ['c.example:443', 'wss://c.example:443/x', true],
      ['2001:DB8:0:0:0:0:0:1', 'wss://[2001:db8::1]/x', true],
      ['[2001:db8::1]', 'wss://[2001:db8::1]/x', true],
      ['bücher.example', 'wss://xn--bcher-kva.example/x', true],
      ['127.1', 'wss://127.0.0.1/x', true],
      ['d.example', 'wss://c.example/x', false],
      ['c.example.evil', 'wss://c.example/x', false],
      ['', 'wss://c.example/x', false],
    ];
    for (const [name, url, same] of pairs) expect(sameHost(name, new URL(url).hostname), `${name} ${url}`).toBe(same);
  });

  it('still refuses plain ws:// to a remote host from an endpoint details file', () => {
    const eps = file('eps-ws.json', JSON.stringify([{ url: 'ws://cloud.example/x', token: 't', groupId: 'g' }]));
    expect(problems({ env: { NBWSS_ENDPOINTS_FILE: eps } }).join('\n')).toMatch(/plain ws:\/\/ to cloud\.example .*use wss:\/\/ or set cloud\.allowInsecure/);
  });
});

describe('config: backends are checked by the same formats as rest.*', () => {
  const backend = (over: Record<string, unknown>) => ({ name: 'b', mount: '/b', baseUrl: 'https://b.example:443', allowedPaths: ['/api/'], ...over });
  const complaint = (over: Record<string, unknown>) =>
    problems({ env: RUN, configFile: file(`backends-${Object.keys(over).join('-')}.json`, JSON.stringify({ backends: [backend(over)] })) });

  it.each([
    [{ baseUrl: 'https://b.example/?x=1' }, 'backends[0].baseUrl: must not have a query or fragment', 'NBWSS_REST_BASE_URL', 'https://b.example/?x=1'],
    [{ baseUrl: 'https://user:pw@b.example' }, 'backends[0].baseUrl: must not carry credentials; use the token settings', 'NBWSS_REST_BASE_URL', 'https://user:pw@b.example'],
    [{ allowedPaths: ['/api/../admin/'] }, 'backends[0].allowedPaths: each path must be a plain absolute path such as /netbackup/, got "/api/../admin/"', 'NBWSS_ALLOWED_PATHS', '/api/../admin/'],
    [{ allowedPaths: ['//api/'] }, 'backends[0].allowedPaths: each path must be a plain absolute path such as /netbackup/, got "//api/"', 'NBWSS_ALLOWED_PATHS', '//api/'],
    [{ allowedMethods: ['GET', 'TRACE'] }, 'backends[0].allowedMethods: each method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, got "TRACE"', 'NBWSS_ALLOWED_METHODS', 'GET,TRACE'],
    [{ timeoutMs: 0 }, 'backends[0].timeoutMs: must be a whole number of at least 1', 'NBWSS_REST_TIMEOUT_MS', '0'],
  ])('%j: the same complaint as the rest.* key', (over, expected, variable, value) => {
    expect(complaint(over)).toContain(expected);
    const same = problems({ env: { ...RUN, [variable]: value } }).map((p) => p.replace(/^[\w.]+: /, '').replace(/: value was .*$/, ''));
    expect(same).toContain(expected.replace(/^backends\[0\]\.\w+: /, ''));
  });

  it('an empty list of methods or paths is refused, a boolean must be one', () => {
    expect(complaint({ allowedMethods: [] })).toContain('backends[0].allowedMethods: must be a non-empty list of HTTP methods');
    expect(complaint({ allowedPaths: [] })).toContain('backends[0].allowedPaths: must be a non-empty list of paths');
    expect(complaint({ allowPathParameters: 'yes' })).toContain('backends[0].allowPathParameters: must be true or false');
    expect(complaint({ caFile: '' })).toContain('backends[0].caFile: must be a file path');
  });

  it('takes a null caFile as none, as cloud.caFile and rest.caFile do', () => {
    const file2 = file('backends-null-ca.json', JSON.stringify({ backends: [backend({ caFile: null })] }));
    const { config } = loadConfig({ env: RUN, configFile: file2, purpose: 'run' });
    expect(config.backends[0]).toMatchObject({ caFile: null, ca: null });
  });
});
