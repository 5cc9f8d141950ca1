import { describe, expect, it } from 'vitest';
import { Policy } from '../../src/policy/allow.js';
import { encodeSegment, formatUri, parseUri } from '../../src/policy/uri.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const policy = new Policy({ allowedPaths: ['/netbackup/'], allowedMethods: METHODS });

describe('policy: uris', () => {
  const allowed: [string, string][] = [
    ['/netbackup/config/servers/vmservers', '/netbackup/config/servers/vmservers'],
    ['/netbackup/admin/jobs?page%5Blimit%5D=10&sort=-jobId', '/netbackup/admin/jobs?page%5Blimit%5D=10&sort=-jobId'],
    ['/netbackup/admin/jobs?filter=jobType eq \'BACKUP\'', '/netbackup/admin/jobs?filter=jobType%20eq%20\'BACKUP\''],
    ['/netbackup/config/hosts/Zürich host', '/netbackup/config/hosts/Z%C3%BCrich%20host'],
    ['/netbackup/x/..foo/a.b/.x', '/netbackup/x/..foo/a.b/.x'],
    ['/netbackup/', '/netbackup/'],
    ['/netbackup/q?next=../../x', '/netbackup/q?next=../../x'],
    ['/netbackup/q?a=1;b=2', '/netbackup/q?a=1;b=2'],
    // Re-encoded from the decoded segments: the bytes checked are the bytes sent.
    ['/net%62ackup/admin', '/netbackup/admin'],
    ['/netbackup/a%2Bb/c%3Ad/e%40f', '/netbackup/a+b/c:d/e@f'],
    ['/netbackup/a%20b/%C3%BC', '/netbackup/a%20b/%C3%BC'],
    ['/netbackup/50%25', '/netbackup/50%25'],
    ['/netbackup/a"b<c>', '/netbackup/a%22b%3Cc%3E'],
  ];
  it.each(allowed)('allows %s as %s', (uri, path) => {
    expect(policy.check('GET', uri)).toEqual({ ok: true, path });
  });

  const refused: [string, RegExp][] = [
    ['http://169.254.169.254/latest/meta-data/', /origin-relative/],
    ['https://evil.example/netbackup/x', /origin-relative/],
    ['//evil.example/netbackup/x', /"\/\/"/],
    ['/netbackup/../admin/secret', /dot segment/],
    ['/netbackup/./admin', /dot segment/],
    ['/netbackup/.../admin', /dot segment/],
    ['/netbackup/.. /admin', /dot segment/],
    ['/netbackup/..%20/admin', /dot segment/],
    ['/netbackup/%2e%2e/%2e%2e/etc/passwd', /dot segment/],
    ['/netbackup/%2E%2E/x', /dot segment/],
    ['/netbackup/.%2e/x', /dot segment/],
    ['/netbackup/..%2f..%2fetc/passwd', /encoded "\/"/],
    ['/netbackup/a%2Fb', /encoded "\/"/],
    ['/netbackup/%252e%252e/x', /encoded twice/],
    ['/netbackup/%25252e%25252e/x', /encoded twice/],
    ['/netbackup/admin/..;/..;/config/servers', /dot segment/],
    ['/netbackup/admin/..;x=1/config', /dot segment/],
    ['/netbackup/admin/%2e%2e;x=1/config', /dot segment/],
    ['/netbackup/admin/..%3b/config', /dot segment/],
    ['/netbackup/admin;jsessionid=1/x', /path parameter/],
    ['/netbackup/admin%3bx/x', /path parameter/],
    ['/netbackup/%c0%ae%c0%ae/x', /not UTF-8/],
    ['/netbackup/%e0%80%ae/x', /not UTF-8/],
    ['/netbackup/%c0%af/x', /not UTF-8/],
    ['/netbackup/\uff0e\uff0e/x', /look-alikes/],
    ['/netbackup/%ef%bc%8e%ef%bc%8e/x', /look-alikes/],
    ['/netbackup/\u2025/x', /look-alikes/],
    ['/netbackup/\u3002\u3002/x', /look-alikes/],
    ['/netbackup/a\uff0fb', /look-alikes/],
    ['/netbackup/a\uff3cb', /look-alikes/],
    ['/netbackup/\uff05\uff12\uff45\uff05\uff12\uff45/x', /percent-escape once Unicode look-alikes are folded/],
    ['/netbackup/..\uff1bx/admin', /";" once Unicode look-alikes are folded/],
    ['/netbackup/..\u2215../x', /reads as "\/"/],
    ['/netbackup/..\u2044/x', /reads as "\/"/],
    ['/netbackup/..\u200b/x', /invisible/],
    ['/netbackup/..\ufe0f/x', /invisible/],
    ['/netbackup/a\ufeffb/x', /invisible/],
    ['\\\\evil\\netbackup', /origin-relative/],
    ['/netbackup\\..\\admin', /backslash/],
    ['/netbackup/%5c..%5cadmin', /backslash/],
    ['/other-service/api', /outside the allowed paths/],
    ['/netbackupx/a', /outside the allowed paths/],
    ['/netbackup', /outside the allowed paths/],
    ['netbackup/admin/jobs', /origin-relative/],
    ['/netbackup/admin/jobs\r\nX-Injected: 1', /control characters/],
    ['/netbackup/a\u0000b', /control characters/],
    ['/netbackup/a\u0085b', /control characters/],
    ['/netbackup/a%00b', /control character/],
    ['/netbackup/a%09b', /control character/],
    ['/netbackup/a%7Fb', /control character/],
    ['/netbackup/a%C2%85b', /control character/],
    ['/netbackup//admin', /"\/\/"/],
    ['/netbackup/a//', /"\/\/"/],
    ['/netbackup/a#frag', /fragment/],
    ['/netbackup/100%', /malformed percent-escape/],
    ['/netbackup/%zz', /malformed percent-escape/],
    ['/netbackup/x?a=%zz', /malformed percent-escape/],
    ['/%6eetbackupx/x', /outside the allowed paths/],
    ['/netbackup%2fadmin', /encoded "\/"/],
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

  it('lets ";" path parameters through only where allowed, and checks the name before them all the same', () => {
    const p = new Policy({ allowedPaths: ['/netbackup/'], allowedMethods: METHODS, allowPathParameters: true });
    expect(p.check('GET', '/netbackup/admin;v=1/x')).toEqual({ ok: true, path: '/netbackup/admin;v=1/x' });
    expect(p.check('GET', '/netbackup/a/..;x=1/b').ok).toBe(false);
    expect(p.check('GET', '/netbackup/a/%2e%2e;/b').ok).toBe(false);
    expect(p.check('GET', '/netbackup;x/a').ok).toBe(true);
    expect(p.check('GET', '/netbackup/jobs;x\uff0f..\uff0f../a').ok).toBe(false);
  });

  it('lets ordinary non-ASCII names through', () => {
    expect(policy.check('GET', '/netbackup/config/hosts/Zürich-ßtraße-東京')).toEqual({ ok: true, path: `/netbackup/config/hosts/${encodeURIComponent('Zürich-ßtraße-東京')}` });
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

  it('matches prefixes on whole decoded segments', () => {
    const p = new Policy({ allowedPaths: ['/netbackup/admin/jobs/'], allowedMethods: METHODS });
    expect(p.check('GET', '/netbackup/admin/jobs/4711')).toEqual({ ok: true, path: '/netbackup/admin/jobs/4711' });
    expect(p.check('GET', '/netbackup/admin/jobs%2F..%2Fx').ok).toBe(false);
    expect(p.check('GET', '/netbackup/admin/job%73/1')).toEqual({ ok: true, path: '/netbackup/admin/jobs/1' });
    expect(p.check('GET', '/netbackup/admin/jobs').ok).toBe(false);
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

describe('uri reading and writing', () => {
  it('lets through a segment whose Unicode folds to other plain letters, and sends it as UTF-8', () => {
    const r = parseUri('/netbackup/\uFF46\uFF55\uFF4C\uFF4C');
    expect(r.ok).toBe(true);
    if (r.ok) expect(formatUri(r.uri)).toBe('/netbackup/%EF%BD%86%EF%BD%95%EF%BD%8C%EF%BD%8C');
  });

  it('names a character that folds to ";" and a name that folds to dots before ";"', () => {
    const semi = parseUri('/netbackup/a\uFF1Bb');
    expect(semi).toMatchObject({ ok: false, reason: expect.stringMatching(/reads as ";" once Unicode look-alikes are folded/) });
    const dots = parseUri('/netbackup/\uFF0E\uFF0E;x');
    expect(dots).toMatchObject({ ok: false, reason: expect.stringMatching(/reads as dots once Unicode look-alikes are folded/) });
  });

  it('names a host reference as such', () => {
    expect(parseUri('//evil.example/netbackup')).toMatchObject({ ok: false, reason: 'uri must not start with "//" (a host reference)' });
  });

  it('writes "/" for the root, keeps a trailing slash, and keeps the sub-delimiters a segment may hold', () => {
    const root = parseUri('/');
    expect(root.ok && formatUri(root.uri)).toBe('/');
    const dir = parseUri('/netbackup/admin/');
    expect(dir.ok && formatUri(dir.uri)).toBe('/netbackup/admin/');
    expect(encodeSegment('a$b&c+d,e=f:g@h;\u00FC')).toBe('a$b&c+d,e=f:g@h;%C3%BC');
  });
});

describe('policy defaults', () => {
  it('refuses path parameters unless allowed, and matches a mount from any segment on', () => {
    expect(new Policy({ allowedPaths: ['/netbackup/'], allowedMethods: METHODS }).check('GET', '/netbackup/a;b=1').ok).toBe(false);
    const p = parseUri('/veeam/api/jobs');
    expect(p.ok).toBe(true);
  });
});

describe('policy under a mount', () => {
  it('checks the segments after the mount, and refuses a uri that ends at the mount', () => {
    const p = new Policy({ allowedPaths: ['/api/v1/'], allowedMethods: METHODS });
    const at = (uri: string) => {
      const r = parseUri(uri);
      if (!r.ok) throw new Error(uri);
      return p.checkParsed(r.uri, 1);
    };
    expect(at('/veeam/api/v1/jobs').ok).toBe(true);
    expect(at('/veeam/api').ok).toBe(false);
    expect(at('/veeam').ok).toBe(false);
    const mount = parseUri('/veeam');
    expect(mount.ok && formatUri(mount.uri, 1)).toBe('/');
  });
});
