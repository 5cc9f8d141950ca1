// The auth profile registry: reading `backends[i].auth` by each profile's declaration, and what
// is derived from the declarations.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_TYPES, COMMON_RESPONSE_HEADERS, configSecrets, redactAuth, resolveAuth, responseAllowlist } from '../../src/backends/auth/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'nbwss-registry-'));
const secretFile = (name: string, value: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, `${value}\n`);
  chmodSync(p, mode);
  return p;
};
const resolve = (raw: unknown, env: Record<string, string> = {}) => {
  const problems: string[] = [];
  const auth = resolveAuth('backends[0]', raw, env, problems);
  return { auth, problems };
};

describe('resolveAuth', () => {
  it('refuses a value that is a list, names an auth that is no object as such, and needs a login for cohesity without an API key', () => {
    expect(resolve({ type: 'veeam-em', username: ['a'], passwordFile: secretFile('em-list', 'pw') }).problems).toEqual(['backends[0].auth.username: must be a non-empty string']);
    expect(resolve('veeam-em').problems).toEqual(['backends[0].auth: must be an object with a type']);
    expect(resolve({ type: 'cohesity' }).problems).toEqual([
      'backends[0].auth.username: required for auth type cohesity (or set apiKeyFile)',
      'backends[0].auth.passwordFile: required for auth type cohesity (or set apiKeyFile)',
    ]);
  });

  it('refuses an empty value, and shows a secret as redacted whichever profile declares it', () => {
    expect(resolve({ type: 'veeam-em', username: '', passwordFile: secretFile('em-empty', 'pw') }).problems).toEqual(['backends[0].auth.username: must be a non-empty string']);
    const key = secretFile('ibm-key', 'ibm-secret-key');
    const r = resolve({ type: 'ibm-iam', apiKeyFile: key, tenantId: 't/' });
    expect(r.auth && redactAuth(r.auth)).toEqual({ type: 'ibm-iam', apiKey: '[redacted]', tenantId: 't/', tokenUrl: 'https://iam.cloud.ibm.com/identity/token', apiKeyFile: key });
    expect(r.auth && configSecrets(r.auth)).toEqual(['ibm-secret-key']);
  });

  it('defaults to passthrough (no auth, or null), with nothing to read', () => {
    expect(resolve(undefined)).toEqual({ auth: { type: 'passthrough', values: {}, files: {} }, problems: [] });
    expect(resolve(null)).toEqual({ auth: { type: 'passthrough', values: {}, files: {} }, problems: [] });
  });

  it.each([['a string', 'veeam-em'], ['a number', 7], ['an array', ['veeam-em']]])('refuses an auth that is %s', (_, raw) => {
    const r = resolve(raw);
    expect(r.auth).toBeNull();
    expect(r.problems).toEqual(['backends[0].auth: must be an object with a type']);
  });

  it('refuses an unknown or non-string type, naming the types there are', () => {
    for (const type of ['kerberos', 7]) {
      const r = resolve({ type });
      expect(r.auth).toBeNull();
      expect(r.problems[0]).toBe(`backends[0].auth.type: must be one of ${AUTH_TYPES.join(', ')}, got ${JSON.stringify(type === 7 ? 'number' : type)}`);
    }
  });

  it('cuts a long type or key in the message to 40 characters', () => {
    const long = 'x'.repeat(100);
    expect(resolve({ type: long }).problems[0]).toContain(`got "${'x'.repeat(40)}"`);
    expect(resolve({ type: 'passthrough', [long]: 1 }).problems).toEqual([`backends[0].auth: unknown key "${'x'.repeat(40)}" for auth type passthrough (it takes nothing else)`]);
  });

  it('names an unknown key and the keys the profile takes', () => {
    const r = resolve({ type: 'veeam-em', username: 'u', passwordFile: secretFile('em.pw', 'pw-value'), password: 'inline' });
    expect(r.auth).toBeNull();
    expect(r.problems).toEqual(['backends[0].auth: unknown key "password" for auth type veeam-em (it takes username, passwordFile)']);
  });

  it('refuses a value that is not a non-empty string, and a required key that is missing', () => {
    expect(resolve({ type: 'veeam-em', username: '', passwordFile: secretFile('a.pw', 'x1234') }).problems).toEqual(['backends[0].auth.username: must be a non-empty string']);
    expect(resolve({ type: 'veeam-em', username: 42, passwordFile: secretFile('b.pw', 'x1234') }).problems).toEqual(['backends[0].auth.username: must be a non-empty string']);
    expect(resolve({ type: 'veeam-em', passwordFile: secretFile('c.pw', 'x1234') }).problems).toEqual(['backends[0].auth.username: required for auth type veeam-em']);
  });

  it('reads secret files into the names the declaration gives, records where they came from, and keeps defaults', () => {
    const creds = mkdtempSync(join(tmpdir(), 'nbwss-creds-'));
    writeFileSync(join(creds, 'vbr.pw'), 'vbr-password\n', { mode: 0o600 });
    const r = resolve({ type: 'veeam-vbr', username: 'u', passwordFile: '${CREDENTIALS_DIRECTORY}/vbr.pw' }, { CREDENTIALS_DIRECTORY: creds });
    expect(r.problems).toEqual([]);
    expect(r.auth).toEqual({ type: 'veeam-vbr', values: { username: 'u', password: 'vbr-password', apiVersion: '1.1-rev2' }, files: { passwordFile: join(creds, 'vbr.pw') } });
  });

  it('checks URL keys, and runs the profile\'s own rules only once the keys themselves are right', () => {
    const key = secretFile('iam.key', 'ibm-api-key-value');
    expect(resolve({ type: 'ibm-iam', apiKeyFile: key, tenantId: 't', tokenUrl: 'ftp://iam.example/token' }).problems).toEqual(['backends[0].auth.tokenUrl: must be an http or https URL without credentials']);
    expect(resolve({ type: 'ibm-iam', apiKeyFile: key, tenantId: 't', tokenUrl: 'https://u:p@iam.example/token' }).problems).toHaveLength(1);
    expect(resolve({ type: 'ibm-iam', apiKeyFile: key, tenantId: 't', tokenUrl: 'http://iam.example/token' }).problems).toEqual([]);
    expect(resolve({ type: 'ibm-iam', apiKeyFile: key, tenantId: 't', tokenUrl: 'https://iam.example/token' }).problems).toEqual([]);
    expect(resolve({ type: 'ibm-iam', apiKeyFile: key, tenantId: 't', tokenUrl: 'not a url' }).problems).toHaveLength(1);
    expect(resolve({ type: 'cohesity' }).problems).toEqual([
      'backends[0].auth.username: required for auth type cohesity (or set apiKeyFile)',
      'backends[0].auth.passwordFile: required for auth type cohesity (or set apiKeyFile)',
    ]);
    expect(resolve({ type: 'cohesity', username: 7 }).problems).toEqual(['backends[0].auth.username: must be a non-empty string']);
    expect(resolve({ type: 'cohesity', apiKeyFile: secretFile('co.key', 'cohesity-key') }).problems).toEqual([]);
  });
});

describe('what the declarations give', () => {
  it('shows secrets as [redacted] and the files they came from, every other value as it is', () => {
    const pw = secretFile('red.pw', 'the-password');
    const { auth } = resolve({ type: 'cohesity', username: 'u', passwordFile: pw, tenantId: 'tenant/' });
    expect(auth && redactAuth(auth)).toEqual({ type: 'cohesity', apiKey: null, username: 'u', password: '[redacted]', domain: 'LOCAL', tenantId: 'tenant/', passwordFile: pw });
    expect(auth && configSecrets(auth)).toEqual(['the-password']);
  });

  it('filters answers only where the bridge signs, letting the common headers through', () => {
    expect(responseAllowlist('passthrough')).toBeNull();
    expect(responseAllowlist('no-such-profile')).toBeNull();
    const allow = responseAllowlist('veeam-em');
    expect([...(allow ?? [])].sort()).toEqual([...COMMON_RESPONSE_HEADERS].sort());
    expect(allow?.has('set-cookie')).toBe(false);
    expect(allow?.has('x-restsvcsessionid')).toBe(false);
  });
});

describe('a profile added as one file and one line (proxmox-pbs)', () => {
  it('is known by type, reads its secret file, and checks its token id', () => {
    expect(AUTH_TYPES).toContain('proxmox-pbs');
    const file = secretFile('pbs.secret', '0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d');
    const ok = resolve({ type: 'proxmox-pbs', tokenId: 'backup@pbs!cloud', tokenSecretFile: file });
    expect(ok.problems).toEqual([]);
    expect(ok.auth && redactAuth(ok.auth)).toEqual({ type: 'proxmox-pbs', tokenId: 'backup@pbs!cloud', tokenSecret: '[redacted]', tokenSecretFile: file });
    expect(ok.auth && configSecrets(ok.auth)).toEqual(['0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d']);
    expect(resolve({ type: 'proxmox-pbs', tokenId: 'backup', tokenSecretFile: file }).problems).toEqual(['backends[0].auth.tokenId: must be a Proxmox API token id, user@realm!name']);
    expect(resolve({ type: 'proxmox-pbs', tokenId: 'backup@pbs!cloud' }).problems).toEqual(['backends[0].auth.tokenSecretFile: required for auth type proxmox-pbs']);
  });

  it('signs, so its answers keep only the common headers', () => {
    expect(responseAllowlist('proxmox-pbs')).toEqual(new Set(COMMON_RESPONSE_HEADERS));
  });
});
