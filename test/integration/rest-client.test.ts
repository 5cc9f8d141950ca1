import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AnsweredError } from '../../src/errors.js';
import { toPayload } from '../../src/protocol/codec.js';
import { RestClient, type RestCall } from '../../src/rest/client.js';
import { RestServer, sendJson, type RestHandler } from '../support/fakes.js';
import { readFileSync } from 'node:fs';
import { httpsServer, TEST_CA, TEST_CA2_FILE, type TestCert } from '../support/tls.js';
import { freePort } from '../support/ports.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(handler: RestHandler, opts: Partial<ConstructorParameters<typeof RestClient>[0]> = {}) {
  const server = await new RestServer(handler).start();
  const client = new RestClient({ baseUrl: server.url, ca: null, timeoutMs: 2000, maxResponseBytes: 1024 * 1024, connections: 4, ...opts });
  cleanups.push(() => server.stop(), () => client.close());
  return { server, client };
}

const GET: RestCall = { method: 'GET', path: '/netbackup/admin/jobs', headers: { authorization: 'jwt' } };

async function failure(p: Promise<unknown>): Promise<AnsweredError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AnsweredError);
    return err as AnsweredError;
  }
  throw new Error('expected the call to fail');
}


describe('RestClient', () => {
  it('sends method, path, headers and body, and returns status, headers and body', async () => {
    const { server, client } = await setup((req, res) => sendJson(res, 201, { got: req.text }, { 'x-extra': 'yes' }));
    const res = await client.call({ method: 'POST', path: '/netbackup/x?a=1', headers: { 'content-type': 'application/json', authorization: 'jwt' }, body: '{"a":1}' });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({ got: '{"a":1}' });
    expect(res.headers['x-extra']).toBe('yes');
    expect(res.headers).not.toHaveProperty('content-length');
    expect(res.headers).not.toHaveProperty('connection');
    const req = server.requests[0];
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/netbackup/x?a=1');
    expect(req?.headers.authorization).toBe('jwt');
    expect(req?.headers.host).toBe(new URL(server.url).host);
  });

  it('prefixes the path of a base URL that has one', async () => {
    const server = await new RestServer((_req, res) => sendJson(res, 200, {})).start();
    const client = new RestClient({ baseUrl: `${server.url}/api/`, ca: null, timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
    cleanups.push(() => server.stop(), () => client.close());
    await client.call(GET);
    expect(server.requests[0]?.url).toBe('/api/netbackup/admin/jobs');
  });

  it('sends no body for GET even when parameters came along', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, {}));
    await client.call({ ...GET, body: '{"ignored":true}' });
    expect(server.requests[0]?.body.length).toBe(0);
  });

  it('gives "" for 204 and for HEAD', async () => {
    const { client } = await setup((req, res) => {
      if (req.method === 'HEAD') return sendJson(res, 200, '');
      res.writeHead(204);
      res.end();
    });
    expect((await client.call(GET)).body.length).toBe(0);
    const head = await client.call({ ...GET, method: 'HEAD' });
    expect(toPayload(head)).toMatchObject({ responseCode: 200, body: '' });
  });

  it('answers a HEAD with the content-length the REST API gave, even past maxResponseBytes (no body follows)', async () => {
    const { client } = await setup((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(5 * 1024 * 1024) });
      res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(5 * 1024 * 1024));
    });
    const head = await client.call({ ...GET, method: 'HEAD' });
    expect(toPayload(head)).toMatchObject({ responseCode: 200, body: '' });
    expect(head.headers['content-length']).toBe(String(5 * 1024 * 1024));
    expect((await failure(client.call(GET))).code).toBe('NBW_ERR_REST_RESPONSE_TOO_LARGE');
  });

  it('passes several Set-Cookie headers so each can be split off again', async () => {
    const { client } = await setup((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2']);
      sendJson(res, 200, {});
    });
    expect((await client.call(GET)).headers['set-cookie']?.split('\n')).toEqual(['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2']);
  });

  it('returns binary bodies byte for byte, which the codec sends as base64', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(bytes);
    });
    const res = await client.call(GET);
    expect(res.body.equals(bytes)).toBe(true);
    const payload = toPayload(res);
    expect(payload.bodyEncoding).toBe('base64');
    expect(Buffer.from(payload.body, 'base64').equals(bytes)).toBe(true);
  });

  it('answers 504 when the REST API does not answer within timeoutMs', async () => {
    const { client } = await setup(() => {}, { timeoutMs: 300 });
    const err = await failure(client.call(GET));
    expect(err).toMatchObject({ code: 'NBW_ERR_REST_TIMEOUT', status: 504 });
    expect(err.message).toMatch(/timed out after 300 ms/);
  });

  it('times each call out by its own start, with one timer for all of them', async () => {
    const { client } = await setup((req, res) => {
      if (req.url?.endsWith('/ok')) sendJson(res, 200, { ok: true });
    }, { timeoutMs: 400, connections: 4 });
    const settled: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => settled.push(`${name} ok`), (e: AnsweredError) => settled.push(`${name} ${e.code}`));
    const first = track('first', client.call(GET));
    await new Promise((r) => setTimeout(r, 200));
    const second = track('second', client.call(GET));
    await track('quick', client.call({ ...GET, path: '/ok' }));
    await first;
    expect(settled).toEqual(['quick ok', 'first NBW_ERR_REST_TIMEOUT']); // the second one's time is not up yet
    await second;
    expect(settled).toEqual(['quick ok', 'first NBW_ERR_REST_TIMEOUT', 'second NBW_ERR_REST_TIMEOUT']);
    // Idle, then busy again: a call started later still gets its limit.
    await new Promise((r) => setTimeout(r, 500));
    expect(await failure(client.call(GET))).toMatchObject({ code: 'NBW_ERR_REST_TIMEOUT' });
  });

  it('answers 504 when the body stalls after the headers', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    }, { timeoutMs: 300 });
    expect(await failure(client.call(GET))).toMatchObject({ code: 'NBW_ERR_REST_TIMEOUT', status: 504 });
  });

  it('answers 502 when nothing listens at the base URL', async () => {
    const port = await freePort();
    const client = new RestClient({ baseUrl: `http://127.0.0.1:${port}`, ca: null, timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
    cleanups.push(() => client.close());
    const err = await failure(client.call(GET));
    expect(err).toMatchObject({ code: 'NBW_ERR_REST_UNREACHABLE', status: 502 });
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('answers 502 when the REST API drops the connection mid-response', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"a":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await failure(client.call(GET))).toMatchObject({ status: 502 });
  });

  it('answers 502 for a response above maxResponseBytes, declared or streamed', async () => {
    const big = 'x'.repeat(4096);
    const declared = await setup((_req, res) => sendJson(res, 200, big), { maxResponseBytes: 1024 });
    expect(await failure(declared.client.call(GET))).toMatchObject({ code: 'NBW_ERR_REST_RESPONSE_TOO_LARGE', status: 502 });
    const streamed = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 8; i++) res.write('y'.repeat(512));
      res.end();
    }, { maxResponseBytes: 1024 });
    expect(await failure(streamed.client.call(GET))).toMatchObject({ code: 'NBW_ERR_REST_RESPONSE_TOO_LARGE' });
  });

  it('keeps connections alive across calls', async () => {
    const ports = new Set<number>();
    const { client } = await setup((_req, res) => {
      ports.add(res.socket?.remotePort ?? 0);
      sendJson(res, 200, {});
    }, { connections: 1 });
    for (let i = 0; i < 5; i++) await client.call(GET);
    expect(ports.size).toBe(1);
  });

  it('aborts running calls with the given answer', async () => {
    const { client } = await setup(() => {});
    const p = client.call(GET);
    await new Promise((r) => setTimeout(r, 50));
    client.abortAll(new AnsweredError('NBW_ERR_REST_TIMEOUT', 'shutdown'));
    expect(await failure(p)).toMatchObject({ code: 'NBW_ERR_REST_TIMEOUT', message: 'shutdown' });
  });

  describe('over HTTPS', () => {
    async function tlsServer(cert: TestCert = 'server') {
      const server = httpsServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"tls":true}');
      }, cert);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanups.push(() => new Promise((r) => server.close(() => r())));
      return `https://localhost:${(server.address() as AddressInfo).port}`;
    }

    it('trusts the REST API through rest.caFile', async () => {
      const baseUrl = await tlsServer();
      const client = new RestClient({ baseUrl, ca: TEST_CA, timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
      cleanups.push(() => client.close());
      expect((await client.call(GET)).body.toString('utf8')).toBe('{"tls":true}');
    });

    it('answers 502 naming rest.caFile when the certificate is not trusted', async () => {
      const baseUrl = await tlsServer();
      const client = new RestClient({ baseUrl, ca: null, timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
      cleanups.push(() => client.close());
      const err = await failure(client.call(GET));
      expect(err).toMatchObject({ code: 'NBW_ERR_REST_UNREACHABLE', status: 502 });
      expect(err.message).toMatch(/TLS verification.*rest\.caFile/);
    });

    it('checks the certificate against rest.servername when set, and says to set it when the name does not match', async () => {
      const baseUrl = (await tlsServer('othername')).replace('localhost', '127.0.0.1');
      const ca = readFileSync(TEST_CA2_FILE, 'utf8');
      const plain = new RestClient({ baseUrl, ca, timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
      cleanups.push(() => plain.close());
      const err = await failure(plain.call(GET));
      expect(err).toMatchObject({ code: 'NBW_ERR_REST_UNREACHABLE', status: 502 });
      expect(err.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID.*set rest\.servername to a name it holds/);
      expect(err.message).not.toMatch(/caFile/);
      const named = new RestClient({ baseUrl, ca, servername: 'nbu.example', timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
      cleanups.push(() => named.close());
      expect((await named.call(GET)).body.toString('utf8')).toBe('{"tls":true}');
    });

    it('says an expired certificate is expired, not untrusted', async () => {
      const baseUrl = await tlsServer('expired');
      const client = new RestClient({ baseUrl, ca: readFileSync(TEST_CA2_FILE, 'utf8'), timeoutMs: 2000, maxResponseBytes: 1024, connections: 1 });
      cleanups.push(() => client.close());
      expect((await failure(client.call(GET))).message).toMatch(/CERT_HAS_EXPIRED.*validity period/);
    });
  });
});
