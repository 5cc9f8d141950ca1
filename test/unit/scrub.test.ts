import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { REDACTED, scrub as scrubOrNull } from '../../src/backends/scrub.js';
import type { CommandResponsePayload } from '../../src/protocol/envelope.js';

const scrub = (res: CommandResponsePayload, allow: ReadonlySet<string>, secrets: readonly string[]) => {
  const r = scrubOrNull(res, allow, secrets);
  if (r === null) throw new Error('withheld');
  return r;
};

const allow = new Set(['content-type', 'etag']);

describe('scrub', () => {
  it('passes only allowed headers, and replaces a secret in them', () => {
    const r = scrub({ headers: { 'content-type': 'text/plain', etag: 'tok-12345', 'set-cookie': 'a=b', 'x-restsvcsessionid': 'tok-12345' }, responseCode: 200, body: '' }, allow, ['tok-12345']);
    expect(r.res.headers).toEqual({ 'content-type': 'text/plain', etag: REDACTED });
    expect(r.dropped.sort()).toEqual(['set-cookie', 'x-restsvcsessionid']);
    expect(r.hits).toBe(1);
  });

  it('replaces every secret in a text body, raw, JSON-escaped or percent-encoded, longest first', () => {
    const pw = 'pa"ss/w0rd';
    const body = JSON.stringify({ echo: pw, url: `https://x/?p=${encodeURIComponent(pw)}`, basic: 'Basic abcdef', again: pw });
    const r = scrub({ headers: {}, responseCode: 500, body }, allow, [pw, 'abcd', 'Basic abcdef']);
    expect(r.res.body).not.toContain('pa\\"ss/w0rd');
    expect(r.res.body).not.toContain(encodeURIComponent(pw));
    expect(r.res.body).not.toContain('abcd');
    expect(JSON.parse(r.res.body)).toEqual({ echo: REDACTED, url: `https://x/?p=${REDACTED}`, basic: REDACTED, again: REDACTED });
    expect(r.hits).toBe(4);
  });

  it('replaces a secret inside a binary body sent as base64', () => {
    const bytes = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from('key=sécret-42;'), Buffer.from([254])]);
    const r = scrub({ headers: {}, responseCode: 200, body: bytes.toString('base64'), bodyEncoding: 'base64' }, allow, ['sécret-42']);
    const out = Buffer.from(r.res.body, 'base64');
    expect(out.includes(Buffer.from('sécret-42'))).toBe(false);
    expect(out.includes(Buffer.from(`key=${REDACTED};`))).toBe(true);
    expect(out[0]).toBe(0);
    expect(out.at(-1)).toBe(254);
    expect(r.hits).toBe(1);
  });

  it('leaves secrets shorter than 4 characters alone rather than shred the answer', () => {
    const r = scrub({ headers: {}, responseCode: 200, body: 'abc abc' }, allow, ['abc']);
    expect(r.res.body).toBe('abc abc');
  });

  const pw = "Pa&ss/w<rd+ 1'é";
  const forms: [string, string][] = [
    ['Go encoding/json', JSON.stringify(pw).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)],
    ['.NET System.Text.Json', `Pa\\u0026ss/w\\u003Crd\\u002B 1\\u0027\\u00E9`],
    ['JSON with \\/', JSON.stringify(pw).slice(1, -1).replaceAll('/', '\\/')],
    ['HTML entities', 'Pa&amp;ss/w&lt;rd+ 1&#39;é'],
    ['lower-case percent-encoding', encodeURIComponent(pw).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['form encoding', new URLSearchParams({ p: pw }).toString().slice(2)],
    ['base64', Buffer.from(pw).toString('base64')],
    ['base64 inside a longer run', Buffer.from(`user:${pw}`).toString('base64')],
    ['base64url', Buffer.from(`xx${pw}`).toString('base64url')],
    ['upper case', pw.toUpperCase()],
  ];
  it.each(forms)('finds the secret echoed in %s', (_, echoed) => {
    const r = scrub({ headers: {}, responseCode: 500, body: `before ${echoed} after` }, allow, [pw]);
    expect(r.hits).toBeGreaterThanOrEqual(1);
    expect(r.res.body.startsWith('before ')).toBe(true);
    expect(r.res.body.endsWith(' after')).toBe(true);
  });

  it('finds a secret in UTF-16 inside a binary body', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`k=${pw}`, 'utf16le')]);
    const r = scrub({ headers: {}, responseCode: 200, body: bytes.toString('base64'), bodyEncoding: 'base64' }, allow, [pw]);
    expect(Buffer.from(r.res.body, 'base64').includes(Buffer.from(pw, 'utf16le'))).toBe(false);
  });

  it('decompresses a compressed answer to check it, and withholds one it cannot decompress', () => {
    const body = gzipSync(Buffer.from(JSON.stringify({ echo: pw }))).toString('base64');
    const r = scrub({ headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, responseCode: 200, body, bodyEncoding: 'base64' }, new Set(['content-type', 'content-encoding']), [pw]);
    expect(r.res.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(r.res.body)).toEqual({ echo: REDACTED });
    expect(r.res.bodyEncoding).toBeUndefined();
    expect(scrubOrNull({ headers: { 'content-encoding': 'gzip' }, responseCode: 200, body: 'AAEC', bodyEncoding: 'base64' }, allow, [pw])).toBeNull();
    expect(scrubOrNull({ headers: { 'content-encoding': 'compress' }, responseCode: 200, body: 'AAEC', bodyEncoding: 'base64' }, allow, [pw])).toBeNull();
  });
});
