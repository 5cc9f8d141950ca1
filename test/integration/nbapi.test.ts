// The polling client against a REST API on 127.0.0.1: the API version found by stepping down,
// the floors of each API, the answer's size cap, and its CA, through the bridge's REST client.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSIONS, MAX_POLL_BYTES, mediaType, MIN_VERSION, NbApi } from '../../src/notifications/nbapi.js';
import { RestServer, sendJson, type RestHandler } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { httpsServer, TEST_CA } from '../support/tls.js';
import { until } from '../support/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function api(handler: RestHandler) {
  const server = await new RestServer(handler).start();
  const client = new NbApi({ baseUrl: server.url, ca: null, apiKey: 'poll-key', timeoutMs: 5000, log: captureLog().log });
  cleanups.push(() => server.stop(), () => client.close());
  return { server, client };
}

/** A server that offers only `offered` (by Accept), answering {data: []}. */
const offering = (offered: string[]): RestHandler => (req, res) => {
  const version = /version=([\d.]+)/.exec(String(req.headers.accept))?.[1] ?? '';
  if (!offered.includes(version)) return sendJson(res, 406, { errorCode: 406 });
  return sendJson(res, 200, { data: [] });
};

describe('the polling client', () => {
  it('asks for each version, newest first, until the server takes one, with the API key; then keeps it', async () => {
    expect(API_VERSIONS).toEqual(['14.0', '13.0', '12.0', '11.0', '10.0', '9.0', '8.0']);
    expect(mediaType('12.0')).toBe('application/vnd.netbackup+json;version=12.0');
    const { server, client } = await api(offering(['12.0']));
    expect(await client.get('/netbackup/admin/jobs', { 'page[limit]': 10, filter: "a eq 'b c'" })).toEqual({ data: [] });
    expect(server.requests.map((r) => r.headers.accept)).toEqual(['14.0', '13.0', '12.0'].map(mediaType));
    expect(server.requests[0]?.headers.authorization).toBe('poll-key');
    expect(server.requests[0]?.url).toBe('/netbackup/admin/jobs?page%5Blimit%5D=10&filter=a%20eq%20\'b%20c\'');
    expect(client.version).toBe('12.0');
    await client.get('/netbackup/catalog/images', {});
    expect(server.requests.at(-1)?.headers.accept).toBe(mediaType('12.0'));
    expect(server.requests.at(-1)?.url).toBe('/netbackup/catalog/images');
  });

  it('polls jobs with 9.0 or later and images with 8.0 or later, saying so when the server offers only older ones', async () => {
    expect(MIN_VERSION).toEqual({ '/netbackup/admin/jobs': '9.0', '/netbackup/catalog/images': '8.0' });
    const { server, client } = await api(offering(['8.0']));
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ code: 'NBW_ERR_POLL_FAILED', status: 406, message: '/netbackup/admin/jobs: no API version offered (asked 14.0, 13.0, 12.0, 11.0, 10.0, 9.0; polling this API needs 9.0 or later)' });
    expect(server.requests.map((r) => r.headers.accept)).not.toContain(mediaType('8.0'));
    expect(await client.get('/netbackup/catalog/images', {})).toEqual({ data: [] });
    expect(client.version).toBe('8.0');
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 406, message: '/netbackup/admin/jobs: the server offers API 8.0; polling this API needs 9.0 or later' });
  });

  it('reads an answer of up to MAX_POLL_BYTES, and fails one byte more naming the limit', async () => {
    expect(MAX_POLL_BYTES).toBe(32 * 1024 * 1024);
    let size = MAX_POLL_BYTES;
    const { client } = await api((_req, res) => {
      const body = Buffer.alloc(size, 0x20);
      body.write('{"data":[]}');
      res.writeHead(200, { 'content-type': mediaType('14.0') });
      res.end(body);
    });
    expect(await client.get('/netbackup/admin/jobs', {})).toEqual({ data: [] });
    size = MAX_POLL_BYTES + 1;
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ code: 'NBW_ERR_POLL_FAILED', message: `/netbackup/admin/jobs: the answer is larger than ${MAX_POLL_BYTES} bytes` });
  });

  it('names the status of a refusal, the hint of a busy server, and an answer that is not JSON', async () => {
    let answer: [number, string, Record<string, string>] = [500, 'broken', {}];
    const { client } = await api((_req, res) => sendJson(res, answer[0], answer[1], answer[2]));
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 500, message: '/netbackup/admin/jobs: 500 broken' });
    answer = [429, '{}', { 'retry-after': '7' }];
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 429, retryAfterMs: 7000, message: '/netbackup/admin/jobs: 429' });
    answer = [503, '{}', {}];
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 503, retryAfterMs: null, message: '/netbackup/admin/jobs: 503' });
    answer = [503, '{}', { 'retry-after': '3' }];
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 503, retryAfterMs: 3000 });
    answer = [200, 'not json', {}];
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 200, message: '/netbackup/admin/jobs: the answer is not JSON' });
  });

  it('reads a byte that is not UTF-8 as U+FFFD, so one odd name does not stop every poll', async () => {
    const { client } = await api((_req, res) => {
      res.writeHead(200, { 'content-type': mediaType('14.0') });
      res.end(Buffer.concat([Buffer.from('{"data":[{"clientName":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}')]));
    });
    expect(await client.get('/netbackup/admin/jobs', {})).toEqual({ data: [{ clientName: 'caf\uFFFD' }] });
  });

  it('closes at once, failing a poll whose connection is still being made', async () => {
    // A server that takes the TCP connection and never answers the TLS handshake.
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); silent.close(() => r()); }));
    const client = new NbApi({ baseUrl: `https://127.0.0.1:${(silent.address() as { port: number }).port}`, ca: null, apiKey: 'k', timeoutMs: 60_000, log: captureLog().log });
    const poll = client.get('/netbackup/admin/jobs', {});
    await until(() => sockets.length > 0, 5000, 'the connection');
    let closed = false;
    await client.close().then(() => (closed = true));
    expect(closed).toBe(true);
    expect(sockets.length).toBe(1);
    await expect(poll).rejects.toMatchObject({ code: 'NBW_ERR_POLL_FAILED' });
  }, 8000);

  it('names a poll that timed out, and keeps at most 200 characters of a refusal\'s body', async () => {
    let hang = true;
    const server = await new RestServer((_req, res) => (hang ? new Promise<void>(() => {}) : sendJson(res, 500, 'x'.repeat(300)))).start();
    const client = new NbApi({ baseUrl: server.url, ca: null, apiKey: 'k', timeoutMs: 200, log: captureLog().log });
    cleanups.push(() => server.stop(), () => client.close());
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 0, message: '/netbackup/admin/jobs: REST call timed out after 200 ms' });
    hang = false;
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ status: 500, message: `/netbackup/admin/jobs: 500 ${'x'.repeat(200)}` });
  });

  it('names an unreachable server by its error code', async () => {
    const client = new NbApi({ baseUrl: 'http://127.0.0.1:9', ca: null, apiKey: 'k', timeoutMs: 2000, log: captureLog().log });
    cleanups.push(() => client.close());
    await expect(client.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ code: 'NBW_ERR_POLL_FAILED', status: 0, message: '/netbackup/admin/jobs: ECONNREFUSED' });
  });

  it('trusts rest.caFile, and names a TLS failure without it', async () => {
    const server = httpsServer((_req, res) => sendJson(res, 200, { data: [] }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const baseUrl = `https://localhost:${(server.address() as { port: number }).port}`;
    const trusted = new NbApi({ baseUrl, ca: TEST_CA, apiKey: 'k', timeoutMs: 5000, log: captureLog().log });
    const untrusted = new NbApi({ baseUrl, ca: null, apiKey: 'k', timeoutMs: 5000, log: captureLog().log });
    cleanups.push(() => trusted.close(), () => untrusted.close());
    expect(await trusted.get('/netbackup/admin/jobs', {})).toEqual({ data: [] });
    await expect(untrusted.get('/netbackup/admin/jobs', {})).rejects.toMatchObject({ message: expect.stringMatching(/^\/netbackup\/admin\/jobs: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/) });
  });
});
