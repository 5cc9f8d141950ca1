// Properties over generated input: the decoder is total, the policy never lets a uri escape,
// and encoding then decoding gives an envelope back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Policy } from '../../src/policy/allow.js';
import { parseUri, unsafeSegment } from '../../src/policy/uri.js';
import { decodeFrame, encodeCommandResponse, type Inbound } from '../../src/protocol/codec.js';
import { readCommandRequest } from '../../src/protocol/command.js';
import { CommandRequest, CommandResponse, HTTP_METHODS } from '../../src/protocol/envelope.js';

const KINDS = new Set<Inbound['kind']>(['command', 'invalid', 'connect-response', 'notification-response', 'drop']);
const RUNS = { numRuns: 2000 };

describe('decodeFrame is total', () => {
  it('turns any string into one typed message and never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(KINDS.has(decodeFrame(text).kind)).toBe(true);
      }),
      RUNS,
    );
  });

  it('turns any JSON value into one typed message and never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(KINDS.has(decodeFrame(JSON.stringify(value)).kind)).toBe(true);
      }),
      RUNS,
    );
  });

  const anyField = fc.oneof(fc.jsonValue(), fc.constant(undefined));
  const envelopeLike = fc.record(
    {
      version: fc.oneof(fc.constant('1.0'), anyField),
      id: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), anyField),
      type: fc.oneof(fc.constantFrom('COMMAND', 'CONNECT', 'NOTIFICATION', 'OTHER'), anyField),
      subType: fc.oneof(fc.constantFrom('REQUEST', 'RESPONSE'), anyField),
      timeStamp: fc.oneof(fc.integer({ min: 0 }), anyField),
      payload: fc.oneof(
        fc.record(
          {
            uri: fc.oneof(fc.string(), anyField),
            method: fc.oneof(fc.constantFrom(...HTTP_METHODS, 'get', 'FETCH'), anyField),
            headers: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())), anyField),
            parameters: anyField,
          },
          { requiredKeys: [] },
        ),
        anyField,
      ),
    },
    { requiredKeys: [] },
  );

  it('answers every COMMAND REQUEST with a usable id (a command or a 400), never drops it', () => {
    fc.assert(
      fc.property(envelopeLike, (env) => {
        const msg = decodeFrame(JSON.stringify(env));
        expect(KINDS.has(msg.kind)).toBe(true);
        if (env.type === 'COMMAND' && env.subType !== 'RESPONSE' && typeof env.id === 'string' && env.id.length > 0) {
          expect(['command', 'invalid']).toContain(msg.kind);
          if (msg.kind === 'invalid') expect(msg.error.status).toBe(400);
        }
        if (msg.kind === 'command') {
          const { payload } = msg.command;
          expect(HTTP_METHODS).toContain(payload.method);
          expect(typeof payload.uri).toBe('string');
          for (const v of Object.values(payload.headers)) expect(typeof v).toBe('string');
          expect(['string', 'undefined']).toContain(typeof payload.parameters);
        }
      }),
      RUNS,
    );
  });
});

describe('the common COMMAND REQUEST read without the schema', () => {
  const headerName = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('Authorization', 'Content-Type', 'X-Request-Id', 'accept') }, fc.constantFrom('Authorization', 'Content-Type', 'X-Request-Id', 'accept', '__proto__', 'bad name', 'é', ''), fc.string({ maxLength: 12 }));
  const headerValue = fc.oneof(
    { weight: 30, arbitrary: fc.string({ maxLength: 20 }) },
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('a\tb', 'caf\u00e9', 'x\u0100', 'line\nbreak', '\u007f'),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.jsonValue(),
  );
  const field = <T>(common: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: common }, { weight: 1, arbitrary: fc.jsonValue() });
  const request = fc.record(
    {
      version: field(fc.constant('1.0')),
      id: field(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constant(''), fc.constant('i'.repeat(1025)), fc.constant('i'.repeat(1024)))),
      type: field(fc.constant('COMMAND')),
      subType: field(fc.constant('REQUEST')),
      timeStamp: field(fc.oneof(fc.integer({ min: 0 }), fc.constant(-1), fc.constant(-0), fc.double({ noNaN: true }))),
      payload: field(
        fc.record(
          {
            uri: field(fc.oneof(fc.string({ maxLength: 30 }), fc.constant('/netbackup/admin/jobs?page[limit]=10'), fc.constant(`/${'u'.repeat(16 * 1024)}`))),
            method: field(fc.constantFrom(...HTTP_METHODS, 'get', 'Delete', 'FETCH', 'ſet', '')),
            headers: field(fc.dictionary(headerName, headerValue, { maxKeys: 4 })),
            parameters: field(fc.oneof(fc.string({ maxLength: 30 }), fc.constant(null), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }))),
            extra: field(fc.string()),
          },
          { requiredKeys: ['uri', 'method'] },
        ),
      ),
      extra: field(fc.string()),
    },
    { requiredKeys: ['version', 'id', 'type', 'subType', 'timeStamp', 'payload'] },
  );

  it('accepts only what the schema accepts, and returns exactly what the schema returns', () => {
    let read = 0;
    fc.assert(
      fc.property(request, (env) => {
        // Through JSON, as a frame arrives: a `__proto__` key becomes an own property, as JSON.parse makes it.
        const msg = JSON.parse(JSON.stringify(env)) as Record<string, unknown>;
        const fast = readCommandRequest(msg);
        if (fast === undefined) return;
        read++;
        const schema = CommandRequest.safeParse(msg);
        expect(schema.success).toBe(true);
        expect(fast).toStrictEqual(schema.data);
        expect(Object.keys(fast.payload)).toEqual(Object.keys(schema.data?.payload ?? {}));
        expect(Object.keys(fast.payload.headers)).toEqual(Object.keys(schema.data?.payload.headers ?? {}));
      }),
      { numRuns: 5000 },
    );
    expect(read).toBeGreaterThan(100); // the common form is read here, not only by the schema
  });

  it('reads a request with a __proto__ header name, or parameters as an object, through the schema', () => {
    const base = { version: '1.0', id: 'p', type: 'COMMAND', subType: 'REQUEST', timeStamp: 1 };
    const proto = JSON.parse('{"payload":{"uri":"/a","method":"GET","headers":{"__proto__":"x","a":"1"}}}') as Record<string, unknown>;
    expect(readCommandRequest({ ...base, ...proto })).toBeUndefined();
    const msg = decodeFrame(JSON.stringify({ ...base, ...proto }));
    expect(msg.kind === 'command' && msg.command.payload.headers).toStrictEqual({ a: '1' });
    expect(readCommandRequest({ ...base, payload: { uri: '/a', method: 'POST', parameters: { a: 1 } } })).toBeUndefined();
    const obj = decodeFrame(JSON.stringify({ ...base, payload: { uri: '/a', method: 'POST', parameters: { a: 1 } } }));
    expect(obj.kind === 'command' && obj.command.payload.parameters).toBe('{"a":1}');
  });
});

describe('decodeFrame bounds what it does with hostile frames', () => {
  /** A value nested `depth` levels deep, as objects, arrays or both. */
  const nested = (depth: number, shape: 'object' | 'array' | 'mixed') => {
    let text = '1';
    for (let i = 0; i < depth; i++) {
      const arr = shape === 'array' || (shape === 'mixed' && i % 2 === 0);
      text = arr ? `[${text}]` : `{"a":${text}}`;
    }
    return text;
  };
  const command = (parameters: string, id = 'DEEP') =>
    `{"version":"1.0","id":"${id}","type":"COMMAND","subType":"REQUEST","timeStamp":1,"payload":{"uri":"/netbackup/x","method":"POST","parameters":${parameters}}}`;

  it('answers a COMMAND REQUEST nested deeper than the bound 400 under its id, in any shape and at any depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 127, max: 200_000 }), fc.constantFrom('object', 'array', 'mixed') as fc.Arbitrary<'object' | 'array' | 'mixed'>, (depth, shape) => {
        const msg = decodeFrame(command(nested(depth, shape)), 128);
        // the envelope and payload are two levels above parameters
        if (depth + 2 > 128) {
          expect(msg).toMatchObject({ kind: 'invalid', id: 'DEEP' });
          if (msg.kind === 'invalid') expect(msg.error.message).toMatch(/deeper than cloud.maxJsonDepth \(128\)/);
        } else {
          expect(msg.kind).toBe('command');
        }
      }),
      { numRuns: 40 },
    );
  });

  it('never throws on frames up to a few hundred KiB: deep nesting, huge numbers, lone surrogates, odd types', () => {
    const hostile = fc.oneof(
      fc.integer({ min: 1, max: 100_000 }).map((d) => command(nested(d, 'mixed'))),
      fc.integer({ min: 1, max: 100_000 }).map((d) => nested(d, 'object')),
      fc.integer({ min: 1, max: 300_000 }).map((n) => command(`"${'9'.repeat(n)}"`).replace('"timeStamp":1', `"timeStamp":${'9'.repeat(Math.min(n, 400))}`)),
      fc.string({ unit: 'binary', maxLength: 2000 }).map((t) => command(JSON.stringify(t))),
      fc.string({ unit: 'binary', maxLength: 2000 }).map((t) => `{"id":${JSON.stringify(t)},"type":"COMMAND","subType":"REQUEST","payload":{"uri":${JSON.stringify(t)}}}`),
      fc.constantFrom('{"id":"\ud800","type":"COMMAND"}', '{"__proto__":{"id":"x"},"id":"P","type":"COMMAND"}', '{"id":"X","type":"COMMAND","payload":{"headers":{"__proto__":"x","constructor":1}}}'),
    );
    fc.assert(
      fc.property(hostile, (text) => {
        expect(KINDS.has(decodeFrame(text, 128).kind)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('the policy keeps every accepted uri inside the allowed paths', () => {
  const base = new URL('https://localhost:1556');
  const allowed = ['/netbackup/', '/nbapi'];
  const policy = new Policy({ allowedPaths: allowed, allowedMethods: ['GET'] });
  const piece = fc.constantFrom(
    '/', '//', '.', '..', '%2e', '%2E', '%2e%2e', '%252e%252e', '%2f', '%2F', '%5c', '%5C', '\\', '%25', '%', '%0', '%00',
    'netbackup', 'nbapi', 'nbapix', 'admin', 'etc', 'passwd', '?', '#', ' ', 'a', 'ü', '😀', '\u0000', '\r\n', ':', '@',
    'http:', 'localhost', ';', '&', '=', '\t', '%u002e', '．', '%ef%bc%8e',
  );
  const uri = fc.tuple(fc.constantFrom('', '/netbackup/', '/nbapi', '/'), fc.array(piece, { maxLength: 12 })).map(([head, parts]) => head + parts.join(''));

  const segments = (path: string) => path.split('/');
  const under = (path: string) => allowed.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(`${p}/`)));

  it('resolved as an HTTP client resolves it, an accepted uri stays on the REST origin and under an allowed prefix', () => {
    fc.assert(
      fc.property(uri, (u) => {
        const r = policy.check('GET', u);
        if (!r.ok) {
          expect(r.error.status).toBe(403);
          return;
        }
        const url = new URL(r.path, base);
        expect(url.origin).toBe(base.origin);
        expect(under(url.pathname), `${u} → ${url.pathname}`).toBe(true);
        const decoded = decodeURIComponent(url.pathname);
        expect(under(decoded)).toBe(true);
        expect(segments(decoded).some((s) => s === '.' || s === '..')).toBe(false);
        expect(decoded.includes('\\')).toBe(false);
        // eslint-disable-next-line no-control-regex
        expect(/[\u0000-\u001f\u007f ]/.test(r.path)).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts plain paths under a prefix (the policy is not a wall that refuses everything)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { minLength: 1, maxLength: 5 }), (segs) => {
        expect(policy.check('GET', `/netbackup/${segs.join('/')}`).ok).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('encoding and decoding round-trip', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/).filter((n) => n !== '__proto__');
  const headerValue = fc.string({ maxLength: 40 }).filter((v) => !/[\r\n\0]/.test(v));
  const command = fc.record({
    version: fc.constant('1.0'),
    id: fc.string({ minLength: 1, maxLength: 64 }),
    type: fc.constant('COMMAND'),
    subType: fc.constant('REQUEST'),
    timeStamp: fc.integer({ min: 0, max: 4_000_000_000 }),
    payload: fc.record(
      {
        uri: fc.string({ minLength: 1, maxLength: 200 }),
        method: fc.constantFrom(...HTTP_METHODS),
        headers: fc.dictionary(token, headerValue, { maxKeys: 6 }),
        parameters: fc.string({ maxLength: 200 }),
      },
      { requiredKeys: ['uri', 'method', 'headers'] },
    ),
  });

  it('gives back any valid COMMAND REQUEST', () => {
    fc.assert(
      fc.property(command, (env) => {
        const msg = decodeFrame(JSON.stringify(env));
        expect(msg.kind).toBe('command');
        if (msg.kind === 'command') expect(msg.command).toEqual(env);
      }),
      RUNS,
    );
  });

  it('gives back any COMMAND RESPONSE the bridge encodes', () => {
    const payload = fc.record(
      {
        headers: fc.dictionary(fc.string({ maxLength: 20 }).filter((n) => n !== '__proto__'), fc.string({ maxLength: 40 }), { maxKeys: 6 }),
        responseCode: fc.integer({ min: 100, max: 599 }),
        body: fc.string({ maxLength: 300, unit: 'grapheme' }),
        bodyEncoding: fc.constant('base64' as const),
      },
      { requiredKeys: ['headers', 'responseCode', 'body'] },
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), payload, fc.integer({ min: 0, max: 4_000_000_000 }), (id, p, ts) => {
        const text = encodeCommandResponse(id, p, ts);
        const parsed = CommandResponse.parse(JSON.parse(text));
        expect(parsed).toEqual({ version: '1.0', id, type: 'COMMAND', subType: 'RESPONSE', timeStamp: ts, payload: p });
        expect(text).toBe(JSON.stringify({ version: '1.0', id, type: 'COMMAND', subType: 'RESPONSE', timeStamp: ts, payload: p }));
      }),
      RUNS,
    );
  });
});

describe('a plain path is read with fewer checks, to the same result', () => {
  const PLAIN = [...'ABCXYZabcxyz0189-._~!$&\'()*+,=:@'];
  it('refuses the same segments, in the same words, as the full reading of a segment', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('.', '..', '...'), fc.string({ unit: fc.constantFrom(...PLAIN), minLength: 1, maxLength: 12 })), { minLength: 1, maxLength: 5 }), (segs) => {
        const r = parseUri(`/${segs.join('/')}`);
        const why = segs.map((s) => unsafeSegment(s)).find((w) => w !== null);
        expect(r.ok ? null : r.reason).toBe(why === undefined ? null : `uri path contains ${why}`);
      }),
      RUNS,
    );
  });
});
