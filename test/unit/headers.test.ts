import { describe, expect, it } from 'vitest';
import { requestHeaders, responseHeaders } from '../../src/rest/headers.js';

describe('requestHeaders', () => {
  it('passes Authorization and Content-Type through unchanged, under lower-case names', () => {
    expect(requestHeaders({ 'Content-Type': 'application/vnd.netbackup+json;version=1.0', Authorization: 'eyJ.x.y' })).toEqual({
      'content-type': 'application/vnd.netbackup+json;version=1.0',
      authorization: 'eyJ.x.y',
    });
  });

  it('drops hop-by-hop and framing headers, proxy-* and names listed in Connection', () => {
    const out = requestHeaders({
      Host: 'evil.example',
      Connection: 'keep-alive, X-Hop',
      'Content-Length': '999',
      'Transfer-Encoding': 'chunked',
      'Keep-Alive': 'timeout=5',
      Upgrade: 'websocket',
      TE: 'trailers',
      Trailer: 'x',
      'Proxy-Authorization': 'Basic x',
      'Proxy-Connection': 'keep-alive',
      'X-Hop': 'gone',
      'Accept-Encoding': 'gzip',
      Expect: '100-continue',
      Accept: 'application/json',
    });
    expect(out).toEqual({ accept: 'application/json' });
  });

  it('drops method-override, URL-rewrite and forwarding headers, which would make the REST API read another method, path or client', () => {
    const out = requestHeaders({
      'X-HTTP-Method-Override': 'DELETE',
      'X-HTTP-Method': 'DELETE',
      'X-Method-Override': 'DELETE',
      'X-Original-Method': 'DELETE',
      'X-Original-URL': '/netbackup/security/users',
      'X-Rewrite-URL': '/admin',
      'X-Original-URI': '/admin',
      'X-Forwarded-For': '10.0.0.1',
      'X-Forwarded-Host': 'internal',
      'X-Forwarded-Prefix': '/admin',
      Forwarded: 'for=10.0.0.1',
      'X-Forwarded': 'for=10.0.0.1',
      'X-Real-IP': '10.0.0.1',
      'True-Client-IP': '10.0.0.1',
      'X-Client-IP': '10.0.0.1',
      'Client-IP': '10.0.0.1',
      'X-Cluster-Client-IP': '10.0.0.1',
      'CF-Connecting-IP': '10.0.0.1',
      'X-Original-Host': 'internal',
      'X-Host': 'internal',
      'X-HTTP-Host-Override': 'internal',
      X_Forwarded_For: '10.0.0.1',
      X_HTTP_METHOD_OVERRIDE: 'DELETE',
      Accept: 'application/json',
    });
    expect(out).toEqual({ accept: 'application/json' });
  });

  it('drops the names listed by every Connection header, whatever their case and wherever they come', () => {
    expect(requestHeaders({ 'X-A': '1', Connection: 'x-a', 'x-b': '2', connection: 'X-B,, x-c ', 'X-C': '3', Keep: 'y' })).toEqual({ keep: 'y' });
    expect(responseHeaders({ connection: ['x-a', 'keep-alive'], 'x-a': '1', 'x-b': '2' })).toEqual({ 'x-b': '2' });
    expect(responseHeaders({ connection: 'close', 'x-a': '1' })).toEqual({ 'x-a': '1' });
  });

  it('keeps names such as __proto__ and constructor as plain headers of a plain object', () => {
    const raw = JSON.parse('{"__proto__":"p","constructor":"c","Constructor":"C","toString":"t"}') as Record<string, string>;
    const req = requestHeaders(raw);
    expect(Object.getPrototypeOf(req)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(req))).toEqual(JSON.parse('{"__proto__":"p","constructor":"c, C","tostring":"t"}'));
    const res = responseHeaders(JSON.parse('{"__proto__":["a","b"],"constructor":"c","set-cookie":["x=1","y=2"]}') as Record<string, string | string[]>);
    expect(Object.getPrototypeOf(res)).toBe(Object.prototype);
    expect(Object.keys(res)).toEqual(['__proto__', 'constructor', 'set-cookie']);
    expect(JSON.stringify(res)).toBe('{"__proto__":"a, b","constructor":"c","set-cookie":"x=1\\ny=2"}');
  });

  it('joins names that differ only in case', () => {
    expect(requestHeaders({ 'X-A': '1', 'x-a': '2' })).toEqual({ 'x-a': '1, 2' });
  });
});

describe('responseHeaders', () => {
  it('keeps end-to-end headers, joins repeated values and drops hop-by-hop ones', () => {
    expect(
      responseHeaders({
        'content-type': 'application/json',
        'cache-control': 'private',
        'set-cookie': ['a=1', 'b=2'],
        connection: 'close, x-private',
        'x-private': 'gone',
        'content-length': '10',
        'transfer-encoding': 'chunked',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic',
        date: 'Thu, 14 Jan 2016 20:58:11 GMT',
        missing: undefined,
      }),
    ).toEqual({
      'content-type': 'application/json',
      'cache-control': 'private',
      'set-cookie': 'a=1\nb=2',
      date: 'Thu, 14 Jan 2016 20:58:11 GMT',
    });
  });

  it('carries several Set-Cookie headers so that each comes back whole (joined with a line feed), other repeats with ", "', () => {
    const cookies = ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/', 'b=2; HttpOnly'];
    const out = responseHeaders({ 'set-cookie': cookies, vary: ['accept', 'origin'], 'Set-Cookie': 'c=3' });
    expect(out['set-cookie']?.split('\n')).toEqual([...cookies, 'c=3']);
    expect(out.vary).toBe('accept, origin');
  });

  it('keeps content-length on the answer to a HEAD, where it is the size of the resource', () => {
    expect(responseHeaders({ 'content-length': '1234', 'content-type': 'text/plain' }, true)).toEqual({ 'content-length': '1234', 'content-type': 'text/plain' });
    expect(responseHeaders({ 'content-length': '1234', 'transfer-encoding': 'chunked', connection: 'close' }, true)).toEqual({ 'content-length': '1234' });
    expect(responseHeaders({ 'content-length': '1234' })).toEqual({});
  });
});
