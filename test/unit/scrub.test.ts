import { describe, expect, it } from 'vitest';
import { REDACTED, scrub } from '../../src/backends/scrub.js';

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
});
