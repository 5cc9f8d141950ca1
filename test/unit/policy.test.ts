import { describe, expect, it } from 'vitest';
import { encodeUnsafe, Policy } from '../../src/policy/allow.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const policy = new Policy({ allowedPaths: ['/netbackup/'], allowedMethods: METHODS });

describe('policy: uris', () => {
  const allowed: [string, string][] = [
    ['/netbackup/config/servers/vmservers', '/netbackup/config/servers/vmservers'],
    ['/netbackup/admin/jobs?page%5Blimit%5D=10&sort=-jobId', '/netbackup/admin/jobs?page%5Blimit%5D=10&sort=-jobId'],
    ['/netbackup/admin/jobs?filter=jobType eq \'BACKUP\'', '/netbackup/admin/jobs?filter=jobType%20eq%20\'BACKUP\''],
    ['/netbackup/config/hosts/Zürich host', '/netbackup/config/hosts/Z%C3%BCrich%20host'],
    ['/netbackup/x/..foo/a.b/...', '/netbackup/x/..foo/a.b/...'],
    ['/netbackup/', '/netbackup/'],
    ['/netbackup/images/a%2Fb', '/netbackup/images/a%2Fb'],
    ['/netbackup/q?next=../../x', '/netbackup/q?next=../../x'],
  ];
  it.each(allowed)('allows %s', (uri, path) => {
    expect(policy.check('GET', uri)).toEqual({ ok: true, path });
  });

  const refused: [string, RegExp][] = [
    ['http://169.254.169.254/latest/meta-data/', /origin-relative/],
    ['https://evil.example/netbackup/x', /origin-relative/],
    ['//evil.example/netbackup/x', /"\/\/"/],
    ['/netbackup/../admin/secret', /"\.\." segment/],
    ['/netbackup/./admin', /"\." segment/],
    ['/netbackup/%2e%2e/%2e%2e/etc/passwd', /"\.\." segment once percent-decoded/],
    ['/netbackup/%2E%2E/x', /"\.\." segment/],
    ['/netbackup/..%2f..%2fetc/passwd', /"\.\." segment/],
    ['/netbackup/%252e%252e/x', /"\.\." segment/],
    ['\\\\evil\\netbackup', /origin-relative/],
    ['/netbackup\\..\\admin', /backslash/],
    ['/netbackup/%5c..%5cadmin', /backslash/],
    ['/other-service/api', /outside the allowed paths/],
    ['/netbackupx/a', /outside the allowed paths/],
    ['/netbackup', /outside the allowed paths/],
    ['netbackup/admin/jobs', /origin-relative/],
    ['/netbackup/admin/jobs\r\nX-Injected: 1', /control characters/],
    ['/netbackup/a\u0000b', /control characters/],
    ['/netbackup/a%00b', /control characters/],
    ['/netbackup//admin', /"\/\/"/],
    ['/netbackup/a#frag', /fragment/],
    ['/netbackup/100%', /malformed percent-escape/],
    ['/netbackup/%zz', /malformed percent-escape/],
    ['/%6eetbackup/x', /outside the allowed paths/],
    ['/netbackup%2fadmin', /outside the allowed paths/],
    ['/netbackup/\ud800', /well-formed/],
    ['/netbackup/%admin', /not UTF-8/],
    ['/netbackup/%C3', /not UTF-8/],
  ];
  it.each(refused)('refuses %s with 403', (uri, why) => {
    const r = policy.check('GET', uri);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.status).toBe(403);
    expect(r.error.code).toBe('NBW_ERR_POLICY_URI');
    expect(r.error.message).toMatch(why);
  });

  it('treats a prefix without a trailing slash as that path and everything below it', () => {
    const p = new Policy({ allowedPaths: ['/netbackup/ping'], allowedMethods: METHODS });
    expect(p.check('GET', '/netbackup/ping').ok).toBe(true);
    expect(p.check('GET', '/netbackup/ping?x=1').ok).toBe(true);
    expect(p.check('GET', '/netbackup/ping/sub').ok).toBe(true);
    expect(p.check('GET', '/netbackup/pingpong').ok).toBe(false);
  });

  it('allows any of several prefixes', () => {
    const p = new Policy({ allowedPaths: ['/netbackup/admin/', '/netbackup/catalog/'], allowedMethods: METHODS });
    expect(p.check('GET', '/netbackup/catalog/images').ok).toBe(true);
    expect(p.check('GET', '/netbackup/config/x').ok).toBe(false);
  });
});

describe('policy: methods', () => {
  it.each(METHODS)('allows %s by default', (m) => {
    expect(policy.check(m, '/netbackup/x').ok).toBe(true);
  });
  it.each(['OPTIONS', 'TRACE', 'CONNECT'])('refuses %s with 403', (m) => {
    const r = policy.check(m, '/netbackup/x');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('NBW_ERR_POLICY_METHOD');
    expect(!r.ok && r.error.status).toBe(403);
  });
  it('narrows to the configured methods', () => {
    const readOnly = new Policy({ allowedPaths: ['/netbackup/'], allowedMethods: ['GET', 'HEAD'] });
    expect(readOnly.check('GET', '/netbackup/x').ok).toBe(true);
    const r = readOnly.check('DELETE', '/netbackup/x');
    expect(!r.ok && r.error.message).toMatch(/DELETE is not allowed \(allowed: GET, HEAD\)/);
  });
});

describe('encodeUnsafe', () => {
  it('percent-encodes spaces, quotes, angle brackets, backticks and non-ASCII as UTF-8, and nothing else', () => {
    expect(encodeUnsafe('/a b"c<d>e`f')).toBe('/a%20b%22c%3Cd%3Ee%60f');
    expect(encodeUnsafe('/ü/✓/😀')).toBe('/%C3%BC/%E2%9C%93/%F0%9F%98%80');
    expect(encodeUnsafe("/a%20b?x=1&y='z'")).toBe("/a%20b?x=1&y='z'");
  });
});
