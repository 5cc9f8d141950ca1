import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkUnchecked } from '../../src/protocol/check.js';
import { readFrame } from '../../src/protocol/read.js';
import { AnsweredError } from '../../src/errors.js';
import {
  bodyNotText,
  decodeFrame,
  decodeOversized,
  encodeCommandResponse,
  encodeConnectRequest,
  encodeErrorResponse,
  errorPayload,
} from '../../src/protocol/codec.js';
import { CommandRequest, CommandResponse, ConnectRequest, NotificationRequest } from '../../src/protocol/envelope.js';

const env = (payload: unknown, over: Record<string, unknown> = {}) =>
  JSON.stringify({ version: '1.0', id: 'ID-1', type: 'COMMAND', subType: 'REQUEST', timeStamp: 1444856264, payload, ...over });

const GET = { uri: '/netbackup/admin/jobs', method: 'GET', headers: { Authorization: 'jwt' } };

describe('decodeFrame: COMMAND REQUEST', () => {
  it('decodes the reference POST and turns the JSON-escaped parameters into the body', () => {
    const text = readFileSync(new URL('../../fixtures/02-post-vmserver.json', import.meta.url), 'utf8');
    const msg = decodeFrame(text);
    expect(msg.kind).toBe('command');
    if (msg.kind !== 'command') return;
    expect(msg.command.id).toBe('99B9BD8C-9E3E-406A-A7EE-33B88531C7D9');
    expect(msg.command.payload.method).toBe('POST');
    expect(JSON.parse(msg.command.payload.parameters as string)).toMatchObject({ serverName: 'vcenterServer1', port: 0 });
  });

  it('accepts parameters given as a JSON object or array and serializes them', () => {
    for (const parameters of [{ a: 1, b: 'x' }, [1, 2]]) {
      const msg = decodeFrame(env({ ...GET, method: 'POST', parameters }));
      expect(msg.kind === 'command' && msg.command.payload.parameters).toBe(JSON.stringify(parameters));
    }
  });

  it('treats null or missing parameters as no body', () => {
    for (const p of [{ ...GET, parameters: null }, GET]) {
      const msg = decodeFrame(env(p));
      expect(msg.kind === 'command' && msg.command.payload.parameters).toBeUndefined();
    }
  });

  it('upper-cases a method and stringifies number and boolean header values', () => {
    const msg = decodeFrame(env({ uri: '/netbackup/x', method: 'get', headers: { 'X-Count': 3, 'X-Flag': true } }));
    expect(msg.kind).toBe('command');
    if (msg.kind !== 'command') return;
    expect(msg.command.payload.method).toBe('GET');
    expect(msg.command.payload.headers).toEqual({ 'X-Count': '3', 'X-Flag': 'true' });
  });

  it('accepts a header value with a tab or Latin-1 text (what HTTP allows)', () => {
    const msg = decodeFrame(env({ uri: '/netbackup/x', method: 'GET', headers: { 'X-A': 'a\tb', 'X-B': 'caf\u00e9' } }));
    expect(msg.kind === 'command' && msg.command.payload.headers).toEqual({ 'X-A': 'a\tb', 'X-B': 'café' });
  });

  it('leaves out a header named __proto__ instead of touching a prototype', () => {
    const msg = decodeFrame('{"version":"1.0","id":"P","type":"COMMAND","subType":"REQUEST","timeStamp":1,"payload":{"uri":"/netbackup/x","method":"GET","headers":{"__proto__":{"polluted":"yes"},"A":"1"}}}');
    expect(msg.kind === 'invalid' || (msg.kind === 'command' && JSON.stringify(msg.command.payload.headers) === '{"A":"1"}')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('defaults missing headers to none', () => {
    const msg = decodeFrame(env({ uri: '/netbackup/x', method: 'GET' }));
    expect(msg.kind === 'command' && msg.command.payload.headers).toEqual({});
  });

  const invalid: [string, string][] = [
    ['no uri', env({ method: 'GET', headers: {} })],
    ['unknown method', env({ uri: '/netbackup/x', method: 'FETCH', headers: {} })],
    ['uri not a string', env({ uri: 42, method: 'GET' })],
    ['headers a string', env({ uri: '/netbackup/x', method: 'GET', headers: 'Authorization: x' })],
    ['parameters a number', env({ uri: '/netbackup/x', method: 'POST', headers: {}, parameters: 17 })],
    ['parameters a boolean', env({ uri: '/netbackup/x', method: 'POST', parameters: true })],
    ['wrong version', env(GET, { version: '7.5' })],
    ['missing version', env(GET, { version: undefined })],
    ['timeStamp a string', env(GET, { timeStamp: 'yesterday' })],
    ['missing timeStamp', env(GET, { timeStamp: undefined })],
    ['payload missing', env(undefined)],
    ['payload an array', env([GET])],
    ['header value with CRLF', env({ ...GET, headers: { 'X-A': 'a\r\nX-Injected: 1' } })],
    ['header value with a vertical tab', env({ ...GET, headers: { 'X-A': 'a\u000bb' } })],
    ['header value with ESC', env({ ...GET, headers: { 'X-A': 'a\u001b[31m' } })],
    ['header value with DEL', env({ ...GET, headers: { 'X-A': 'a\u007fb' } })],
    ['header value above U+00FF', env({ ...GET, headers: { 'X-A': 'Z\u0100rich' } })],
    ['header name not a token', env({ ...GET, headers: { 'Bad Name': 'x' } })],
    ['empty uri', env({ ...GET, uri: '' })],
    ['id too long', env(GET, { id: 'x'.repeat(1025) })],
    ['subType missing', env(GET, { subType: undefined })],
  ];
  it.each(invalid)('answers 400 under the id when the envelope has %s', (_, text) => {
    const msg = decodeFrame(text);
    expect(msg.kind).toBe('invalid');
    if (msg.kind !== 'invalid') return;
    expect(msg.id.length).toBeGreaterThan(0);
    expect(msg.error).toBeInstanceOf(AnsweredError);
    expect(msg.error.code).toBe('NBW_ERR_ENVELOPE_INVALID');
    expect(msg.error.status).toBe(400);
    expect(msg.error.message).toMatch(/^invalid COMMAND REQUEST: /);
  });

  it('names the offending field in the 400 message', () => {
    const msg = decodeFrame(env({ uri: '/netbackup/x', method: 'FETCH' }));
    expect(msg.kind === 'invalid' && msg.error.message).toMatch(/payload\.method: must be one of GET/);
  });
});

describe('decodeFrame: what has no usable id, or is not for the bridge', () => {
  const drops: [string, string][] = [
    ['truncated JSON', '{"version": "1.0", "id": '],
    ['text', 'not json at all'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '42'],
    ['no id', JSON.stringify({ version: '1.0', type: 'COMMAND', subType: 'REQUEST', payload: GET })],
    ['an empty id', env(GET, { id: '' })],
    ['a numeric id', env(GET, { id: 42 })],
    ['an unknown type', env({}, { type: 'FROBNICATE' })],
    ['a stray COMMAND RESPONSE', env({ responseCode: 200, headers: {}, body: '' }, { subType: 'RESPONSE' })],
    ['a CONNECT REQUEST from the cloud', env({ token: 'x' }, { type: 'CONNECT' })],
    ['a NOTIFICATION REQUEST from the cloud', env([], { type: 'NOTIFICATION' })],
  ];
  it.each(drops)('drops %s with a reason', (_, text) => {
    const msg = decodeFrame(text);
    expect(msg.kind).toBe('drop');
    expect(msg.kind === 'drop' && msg.reason.length).toBeGreaterThan(5);
  });

  it('recognizes CONNECT and NOTIFICATION RESPONSEs', () => {
    expect(decodeFrame(env({ valid: true }, { type: 'CONNECT', subType: 'RESPONSE' }))).toEqual({ kind: 'connect-response', id: 'ID-1', valid: true });
    expect(decodeFrame(env({ valid: false }, { type: 'CONNECT', subType: 'RESPONSE' }))).toEqual({ kind: 'connect-response', id: 'ID-1', valid: false });
    expect(decodeFrame(env({}, { type: 'NOTIFICATION', subType: 'RESPONSE' }))).toEqual({ kind: 'notification-response', id: 'ID-1' });
  });

  it('treats a CONNECT RESPONSE without payload.valid true as a refusal and says why', () => {
    const cases: [unknown, RegExp | undefined][] = [
      [{ valid: 'yes' }, /payload\.valid is "yes", not true or false/],
      [{ valid: 1 }, /payload\.valid is 1, not true or false/],
      [{}, /payload\.valid is missing/],
      [[true], /payload\.valid is missing/],
      [null, /payload\.valid is missing/],
      [{ valid: false }, undefined],
    ];
    for (const [payload, why] of cases) {
      const msg = decodeFrame(env(payload, { type: 'CONNECT', subType: 'RESPONSE' }));
      expect(msg).toMatchObject({ kind: 'connect-response', valid: false });
      if (why) expect(msg.kind === 'connect-response' && msg.problem).toMatch(why);
      else expect(msg).not.toHaveProperty('problem');
    }
  });

  it('accepts any CONNECT RESPONSE with payload.valid true, and says what differs from NetBackup\'s examples', () => {
    const base = { version: '1.0', id: 'ID-1', type: 'CONNECT', subType: 'RESPONSE', timeStamp: 1, payload: { valid: true } };
    const decode = (o: object) => decodeFrame(JSON.stringify(o));
    expect(decode(base)).toEqual({ kind: 'connect-response', id: 'ID-1', valid: true });
    const { timeStamp: _t, ...noTime } = base;
    const cases: [object, RegExp][] = [
      [noTime, /timeStamp/],
      [{ ...base, version: '2.0' }, /version/],
      [{ ...base, server: 'x', region: 'eu' }, /extra fields "server", "region"/],
      [{ ...base, payload: { valid: true, message: 'welcome' } }, /extra payload fields "message"/],
      [{ ...base, timeStamp: '2026-01-01' }, /timeStamp: must be a number of seconds since the epoch/],
      [{ ...base, timeStamp: -5 }, /timeStamp: must not be negative/],
    ];
    for (const [o, note] of cases) {
      const msg = decode(o);
      expect(msg).toMatchObject({ kind: 'connect-response', id: 'ID-1', valid: true });
      expect(msg.kind === 'connect-response' && msg.unusual).toMatch(note);
    }
    const long = decode({ ...base, id: 'I'.repeat(1025) });
    expect(long.kind === 'connect-response' && long.valid && long.unusual).toMatch(/id: must be at most 1024 characters/);
  });
});

describe('decodeOversized', () => {
  it('answers 413 under the id of a COMMAND REQUEST', () => {
    const msg = decodeOversized(env(GET), 100, 50);
    expect(msg.kind).toBe('invalid');
    expect(msg.kind === 'invalid' && msg.error.code).toBe('NBW_ERR_TOO_LARGE');
    expect(msg.kind === 'invalid' && msg.error.status).toBe(413);
  });
  it('drops what has no readable id or is no request', () => {
    expect(decodeOversized('{"id": "x", "payload": "trunc', 100, 50).kind).toBe('drop');
    expect(decodeOversized(env({}, { subType: 'RESPONSE' }), 100, 50).kind).toBe('drop');
  });
});

describe('encoding', () => {
  it('builds a COMMAND RESPONSE equal to JSON.stringify of the envelope, and valid by schema', () => {
    const payload = { headers: { 'content-type': 'application/json' }, responseCode: 200, body: '{"a":"\\u00e9\\n"}' };
    const text = encodeCommandResponse('ID-"1"', payload, 1700000000);
    expect(text).toBe(
      JSON.stringify({ version: '1.0', id: 'ID-"1"', type: 'COMMAND', subType: 'RESPONSE', timeStamp: 1700000000, payload }),
    );
    expect(CommandResponse.safeParse(JSON.parse(text)).success).toBe(true);
  });

  it('adds bodyEncoding only for base64 bodies', () => {
    const text = encodeCommandResponse('x', { headers: {}, responseCode: 200, body: 'AAE=', bodyEncoding: 'base64' }, 1);
    expect(JSON.parse(text).payload.bodyEncoding).toBe('base64');
    expect(JSON.parse(encodeCommandResponse('x', { headers: {}, responseCode: 200, body: '' }, 1)).payload).not.toHaveProperty('bodyEncoding');
  });

  it('uses integer epoch seconds by default', () => {
    const { timeStamp } = JSON.parse(encodeConnectRequest('C-1', 'tok'));
    expect(Number.isInteger(timeStamp)).toBe(true);
    expect(Math.abs(timeStamp - Date.now() / 1000)).toBeLessThan(5);
  });

  it('builds a CONNECT REQUEST carrying the token', () => {
    const parsed = ConnectRequest.parse(JSON.parse(encodeConnectRequest('C-1', 'tok', 5)));
    expect(parsed.payload.token).toBe('tok');
  });

  it('shapes bridge errors like NetBackup errors, with the code in details and a marker header', () => {
    const err = new AnsweredError('NBW_ERR_QUEUE_FULL', 'full');
    const p = errorPayload(err);
    expect(p.responseCode).toBe(503);
    expect(JSON.parse(p.body)).toEqual({ errorCode: 503, errorMessage: 'full', details: { code: 'NBW_ERR_QUEUE_FULL' } });
    expect(p.headers['x-nbwss-bridge-error']).toBe('NBW_ERR_QUEUE_FULL');
    expect(p.headers['retry-after']).toBe('1');
    const frame = JSON.parse(encodeErrorResponse('E-1', err));
    expect(frame).toMatchObject({ id: 'E-1', type: 'COMMAND', subType: 'RESPONSE', payload: { responseCode: 503 } });
  });

  it('shapes bridge errors exactly as NetBackup does when protocol extensions are off', () => {
    const p = errorPayload(new AnsweredError('NBW_ERR_POLICY_URI', 'refused'), false);
    expect(p).toEqual({ headers: { 'content-type': 'application/json' }, responseCode: 403, body: '{"errorCode":403,"errorMessage":"refused"}' });
    const frame = JSON.parse(encodeErrorResponse('E-2', new AnsweredError('NBW_ERR_QUEUE_FULL', 'full'), false));
    expect(frame.payload.headers).toEqual({ 'content-type': 'application/json', 'retry-after': '1' });
  });

  it('names the content type and size of a body that cannot travel as text', () => {
    const err = bodyNotText({ headers: { 'content-type': 'image/png' }, responseCode: 200, body: Buffer.alloc(1000).toString('base64'), bodyEncoding: 'base64' });
    expect(err).toMatchObject({ code: 'NBW_ERR_BODY_NOT_TEXT', status: 502 });
    expect(err.message).toMatch(/answered 200 .*\(image\/png, 1000 bytes\)/);
    expect(bodyNotText({ headers: {}, responseCode: 201, body: 'AAAA', bodyEncoding: 'base64' }).message).toMatch(/\(no content type, 3 bytes\)/);
  });
});

describe('fixtures', () => {
  const dir = new URL('../../fixtures/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it.each(files)('%s is a COMMAND REQUEST envelope in valid JSON', (file) => {
    const obj = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    expect(obj).toMatchObject({ version: '1.0', type: 'COMMAND', subType: 'REQUEST' });
    expect(typeof obj.id).toBe('string');
  });

  it('the reference GET response validates as a COMMAND RESPONSE', () => {
    const obj = JSON.parse(readFileSync(new URL('responses/get-vmserver-response.json', dir), 'utf8'));
    expect(CommandResponse.parse(obj).payload.responseCode).toBe(200);
  });

  it('the reference requests validate against the strict schema', () => {
    for (const f of ['01-get-vmserver.json', '02-post-vmserver.json']) {
      expect(CommandRequest.safeParse(JSON.parse(readFileSync(new URL(f, dir), 'utf8'))).success).toBe(true);
    }
  });

  it('the notification examples of the protocol validate', () => {
    const job = { version: '1.0', id: 'N', type: 'NOTIFICATION', subType: 'REQUEST', timeStamp: 1444857000, payload: [{ notificationType: 'INFO', object: 'JOB', data: [{ jobId: 4711, state: 'DONE' }] }] };
    expect(NotificationRequest.safeParse(job).success).toBe(true);
  });
});

describe('the schema, loaded when a request first needs it', () => {
  it('reads an unchecked request once loaded (a promise the first time, at once after), as decodeFrame does', async () => {
    const frame = env({ uri: 7, method: 'GET' });
    const read = readFrame(frame);
    expect(read.kind).toBe('unchecked');
    if (read.kind !== 'unchecked') return;
    const first = checkUnchecked(read);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(decodeFrame(frame));
    const again = checkUnchecked(read);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ kind: 'invalid', id: 'ID-1', error: { status: 400 } });
    const lenient = readFrame(env({ uri: '/a', method: 'POST', parameters: { a: 1 } }));
    expect(lenient.kind === 'unchecked' && checkUnchecked(lenient)).toMatchObject({ kind: 'command', command: { payload: { parameters: '{"a":1}' } } });
  });
});
