import { describe, expect, it } from 'vitest';
import { encodeBody, isTextMediaType } from '../../src/protocol/body.js';

const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);

describe('encodeBody', () => {
  it('gives "" for an empty body whatever the type', () => {
    expect(encodeBody(Buffer.alloc(0), 'application/octet-stream', undefined)).toEqual({ body: '' });
  });

  it.each([
    'application/vnd.netbackup+json;version=1.0',
    'application/json; charset=utf-8',
    'text/plain',
    'text/html; charset=UTF-8',
    'application/xml',
    'application/atom+xml',
    'application/problem+json',
  ])('keeps %s as UTF-8 text', (type) => {
    expect(encodeBody(Buffer.from('{"x":"Zürich ✓"}'), type, undefined)).toEqual({ body: '{"x":"Zürich ✓"}' });
  });

  it.each(['application/octet-stream', 'application/pdf', 'image/png', 'application/zip'])('sends %s as base64', (type) => {
    expect(encodeBody(bin, type, undefined)).toEqual({ body: bin.toString('base64'), bodyEncoding: 'base64' });
  });

  it('sends text that is not valid UTF-8 as base64 rather than corrupting it', () => {
    expect(encodeBody(bin, 'application/json', undefined).bodyEncoding).toBe('base64');
  });

  it('transcodes a declared non-UTF-8 charset', () => {
    expect(encodeBody(Buffer.from([0x5a, 0xfc, 0x72]), 'text/plain; charset=ISO-8859-1', undefined)).toEqual({ body: 'Zür' });
  });

  it('sends an unknown charset as base64', () => {
    expect(encodeBody(Buffer.from('x'), 'text/plain; charset=x-nonsense', undefined).bodyEncoding).toBe('base64');
  });

  it('treats a body without a content type as text only when it is valid UTF-8', () => {
    expect(encodeBody(Buffer.from('pong'), undefined, undefined)).toEqual({ body: 'pong' });
    expect(encodeBody(bin, undefined, undefined).bodyEncoding).toBe('base64');
  });

  it('sends a compressed body as base64 even when its type is text', () => {
    expect(encodeBody(Buffer.from('x'), 'application/json', 'gzip').bodyEncoding).toBe('base64');
    expect(encodeBody(Buffer.from('x'), 'application/json', 'identity')).toEqual({ body: 'x' });
  });

  it('knows the textual media types', () => {
    expect(isTextMediaType('application/hal+json')).toBe(true);
    expect(isTextMediaType('application/octet-stream')).toBe(false);
  });
});
