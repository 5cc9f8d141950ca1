// The daemon end to end, in process: test cloud ⇄ bridge ⇄ test REST API.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startBridge, gate, sleep, ok, type TestBridge, type TestBridgeOptions } from '../support/bridge.js';
import { makeEnvelope, netbackupHandler, NB_MEDIA_TYPE, sendJson, type CloudMessage, type CloudPeer } from '../support/fakes.js';

let bridge: TestBridge | null = null;
afterEach(async () => {
  await bridge?.close();
  bridge = null;
});
const start = async (opts: TestBridgeOptions = {}) => (bridge = await startBridge(opts));

function bridgeError(resp: CloudMessage, status: number, code?: string) {
  expect(resp.type).toBe('COMMAND');
  expect(resp.subType).toBe('RESPONSE');
  expect(resp.payload.responseCode).toBe(status);
  const body = JSON.parse(resp.payload.body as string);
  expect(body.errorCode).toBe(status);
  expect(typeof body.errorMessage).toBe('string');
  if (code) {
    expect(body.details.code).toBe(code);
    expect(resp.payload.headers['x-nbwss-bridge-error']).toBe(code);
  }
  return body as { errorCode: number; errorMessage: string };
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWNsYWltcw.U2lnbmF0dXJl';

describe('fixtures end to end', () => {
  const dir = new URL('../../fixtures/', import.meta.url);
  const expected: Record<string, number> = {
    '01-get-vmserver.json': 200,
    '02-post-vmserver.json': 201,
    '03-put-vmserver.json': 204,
    '04-post-vmserver-object-parameters.json': 201,
    '05-delete-vmserver.json': 204,
    '06-get-vmserver-not-found.json': 404,
    '07-list-jobs.json': 200,
    '08-get-job.json': 200,
    '09-head-ping.json': 200,
    '10-refused-path-traversal.json': 403,
    '11-refused-outside-allowed-paths.json': 403,
    '12-invalid-method.json': 400,
  };

  it('has an expectation for every fixture', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(expected).sort());
  });

  it('answers every fixture, in order, with its status and its own id', async () => {
    const { peer, rest } = await start({ rest: netbackupHandler() });
    for (const [file, status] of Object.entries(expected)) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      const { id } = JSON.parse(text) as { id: string };
      peer.send(text);
      const resp = await peer.responseFor(id);
      expect(resp.payload.responseCode, file).toBe(status);
      expect(resp.version).toBe('1.0');
      expect(Number.isInteger(resp.timeStamp)).toBe(true);
    }
    expect(rest.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /netbackup/config/servers/vmservers/vCenter2.domain.com',
      'POST /netbackup/config/servers/vmservers',
      'PUT /netbackup/config/servers/vmservers/vcenterServer1',
      'POST /netbackup/config/servers/vmservers',
      'DELETE /netbackup/config/servers/vmservers/vcenterServer2',
      'GET /netbackup/config/servers/vmservers/vCenter9.domain.com',
      'GET /netbackup/admin/jobs?page%5Blimit%5D=3&sort=-jobId',
      'GET /netbackup/admin/jobs/4712',
      'HEAD /netbackup/ping',
    ]);
    const reference = JSON.parse(readFileSync(new URL('responses/get-vmserver-response.json', dir), 'utf8'));
    const got = peer.responsesFor(reference.id)[0];
    expect(got?.payload.body).toBe(reference.payload.body);
    expect(got?.payload.headers['content-type']).toBe(reference.payload.headers['content-type']);
    expect(got?.payload.headers['cache-control']).toBe('private');
    expect(JSON.parse(rest.requests[1]?.text ?? '')).toEqual(JSON.parse(JSON.parse(readFileSync(new URL('02-post-vmserver.json', dir), 'utf8')).payload.parameters));
  });
});

describe('commands', () => {
  it('passes the JWT through unchanged and filters hop-by-hop headers both ways', async () => {
    const { peer, rest } = await start({
      rest: (_req, res) => sendJson(res, 200, '{}', { 'x-keep': 'yes', 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic' }),
    });
    const resp = await peer.command('GET', '/netbackup/admin/jobs', {
      headers: { Authorization: JWT, 'Content-Type': NB_MEDIA_TYPE, Host: 'evil.example', Connection: 'close', 'Proxy-Authorization': 'x', 'X-Custom': 'c' },
    });
    const req = rest.requests[0];
    expect(req?.headers.authorization).toBe(JWT);
    expect(req?.headers['content-type']).toBe(NB_MEDIA_TYPE);
    expect(req?.headers['x-custom']).toBe('c');
    expect(req?.headers.host).toBe(new URL(rest.url).host);
    expect(req?.headers).not.toHaveProperty('proxy-authorization');
    expect(resp.payload.headers['x-keep']).toBe('yes');
    for (const h of ['keep-alive', 'proxy-authenticate', 'connection', 'transfer-encoding', 'content-length']) {
      expect(resp.payload.headers).not.toHaveProperty(h);
    }
  });

  it('percent-encodes a raw space in the uri instead of refusing it', async () => {
    const { peer, rest } = await start();
    const resp = await peer.command('GET', "/netbackup/admin/jobs?filter=jobType eq 'BACKUP'");
    expect(resp.payload.responseCode).toBe(200);
    expect(new URL(rest.requests[0]?.url ?? '', 'http://x').searchParams.get('filter')).toBe("jobType eq 'BACKUP'");
  });

  it('sends binary responses as base64 with bodyEncoding', async () => {
    const bytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0, 0xff, 0x80]);
    const { peer } = await start({
      rest: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/pdf' });
        res.end(bytes);
      },
    });
    const resp = await peer.command('GET', '/netbackup/reports/r.pdf');
    expect(resp.payload.bodyEncoding).toBe('base64');
    expect(Buffer.from(resp.payload.body, 'base64').equals(bytes)).toBe(true);
  });

  it('with protocol.extensions off: answers a body that cannot travel as text 502 NBW_ERR_BODY_NOT_TEXT, and bridge errors exactly as NetBackup shapes them', async () => {
    const bytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0, 0xff, 0x80]);
    const { peer, rest, logs } = await start({
      config: { 'protocol.extensions': 'false' },
      rest: (req, res) => {
        if (!req.url.includes('.pdf')) return sendJson(res, 200, { ok: true });
        res.writeHead(200, { 'content-type': 'application/pdf' });
        res.end(bytes);
      },
    });
    const pdf = await peer.command('GET', '/netbackup/reports/r.pdf');
    expect(pdf.payload).not.toHaveProperty('bodyEncoding');
    expect(pdf.payload.responseCode).toBe(502);
    expect(pdf.payload.headers).toEqual({ 'content-type': 'application/json' });
    const body = JSON.parse(pdf.payload.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['errorCode', 'errorMessage']);
    expect(body.errorMessage).toMatch(/cannot travel as text \(application\/pdf, 7 bytes\).*protocol\.extensions/);
    expect(logs.text()).toMatch(/NBW_ERR_BODY_NOT_TEXT/);
    const refused = await peer.command('GET', '/etc/passwd');
    expect(refused.payload.responseCode).toBe(403);
    expect(refused.payload.headers).not.toHaveProperty('x-nbwss-bridge-error');
    expect(Object.keys(JSON.parse(refused.payload.body) as object)).toEqual(['errorCode', 'errorMessage']);
    // Text still travels as it is.
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload).toMatchObject({ responseCode: 200, body: '{"ok":true}' });
    expect(rest.requests).toHaveLength(2);
  });

  it('answers 502 when the REST API is unreachable and keeps serving', async () => {
    const { peer, rest } = await start({ config: { 'rest.baseUrl': 'http://127.0.0.1:9' } });
    bridgeError(await peer.command('GET', '/netbackup/admin/jobs'), 502, 'NBW_ERR_REST_UNREACHABLE');
    bridgeError(await peer.command('GET', '/netbackup/admin/jobs'), 502);
    expect(rest.requests.length).toBe(0);
    expect(peer.isClosed).toBe(false);
  });

  it('answers 504 when a REST call outlives rest.timeoutMs, and the next call still works', async () => {
    let n = 0;
    const { peer } = await start({
      config: { 'rest.timeoutMs': '300' },
      rest: (_req, res) => {
        if (n++ === 0) return;
        sendJson(res, 200, {});
      },
    });
    bridgeError(await peer.command('GET', '/netbackup/slow'), 504, 'NBW_ERR_REST_TIMEOUT');
    expect((await peer.command('GET', '/netbackup/fast')).payload.responseCode).toBe(200);
  });
});

describe('the bounded queue', () => {
  it('never runs more REST calls at once than queue.concurrency, and answers each id with its own response', async () => {
    const { peer, rest } = await start({
      config: { 'queue.concurrency': '3' },
      rest: async (req, res) => {
        await sleep(100);
        sendJson(res, 200, { url: req.url });
      },
    });
    const ids = Array.from({ length: 12 }, (_, i) => peer.sendCommand('GET', `/netbackup/admin/jobs/${i}`));
    const resps = await Promise.all(ids.map((id) => peer.responseFor(id, 10_000)));
    resps.forEach((r, i) => expect(JSON.parse(r.payload.body).url).toBe(`/netbackup/admin/jobs/${i}`));
    expect(rest.maxInFlight).toBe(3);
  });

  it('answers 503 at once past queue.maxPending, and every id exactly once', async () => {
    const g = gate();
    const { peer, rest } = await start({ config: { 'queue.concurrency': '1', 'queue.maxPending': '2' }, rest: g.handler });
    const ids = Array.from({ length: 8 }, (_, i) => peer.sendCommand('GET', `/netbackup/admin/jobs/${i}`));
    const rejected = await Promise.all(ids.slice(3).map((id) => peer.responseFor(id)));
    for (const r of rejected) bridgeError(r, 503, 'NBW_ERR_QUEUE_FULL');
    expect(ids.slice(0, 3).every((id) => peer.responsesFor(id).length === 0)).toBe(true);
    g.release();
    for (const id of ids.slice(0, 3)) expect((await peer.responseFor(id)).payload.responseCode).toBe(200);
    // A request the policy refuses is answered after everything sent before it was handled.
    expect((await peer.command('GET', '/not-allowed/barrier')).payload.responseCode).toBe(403);
    for (const id of ids) expect(peer.responsesFor(id).length).toBe(1);
    expect(rest.requests.length).toBe(3);
  });
});

describe('bad input: a clear answer, and the bridge keeps serving', () => {
  const stillServing = async (peer: CloudPeer) => {
    const resp = await peer.command('GET', '/netbackup/admin/jobs');
    expect(resp.payload.responseCode).toBe(200);
    expect(peer.isClosed).toBe(false);
  };

  it('drops text that is not JSON, JSON without an id, binary frames, unknown types and stray responses', async () => {
    const { peer, rest, logs } = await start();
    for (const t of ['{"version": "1.0", "id": ', 'not json', '[]', 'null', '"x"', '{"type":"COMMAND","subType":"REQUEST"}']) peer.send(t);
    peer.ws.send(Buffer.from([0, 1, 2]), { binary: true });
    peer.send(makeEnvelope('FROBNICATE', 'REQUEST', {}));
    peer.send(makeEnvelope('COMMAND', 'RESPONSE', { responseCode: 200, headers: {}, body: '' }));
    peer.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: true }));
    peer.send(makeEnvelope('NOTIFICATION', 'RESPONSE', {}));
    peer.send(makeEnvelope('NOTIFICATION', 'REQUEST', []));
    await stillServing(peer);
    const commandMsgs = peer.messages.filter((m) => m.type === 'COMMAND');
    expect(commandMsgs.length).toBe(1);
    expect(rest.requests.length).toBe(1);
    const drops = logs.lines().filter((l) => l.code === 'NBW_ERR_FRAME_DROPPED');
    expect(drops.length).toBe(12);
    expect(drops.every((l) => l.level === 'warn')).toBe(true);
  });

  it('answers 400 under the id to envelopes that break the schema', async () => {
    const { peer, rest } = await start();
    const bad = [
      makeEnvelope('COMMAND', 'REQUEST', { method: 'GET', headers: {} }),
      makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/admin/jobs', method: 'FETCH' }),
      makeEnvelope('COMMAND', 'REQUEST', { uri: 42, method: 'GET' }),
      makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/x', method: 'GET', headers: 'Authorization: x' }),
      makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/x', method: 'POST', parameters: 17 }),
      { ...makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/x', method: 'GET' }), version: '7.5' },
      { ...makeEnvelope('COMMAND', 'REQUEST', { uri: '/netbackup/x', method: 'GET' }), timeStamp: 'now' },
    ];
    for (const env of bad) {
      peer.send(env);
      bridgeError(await peer.responseFor(env.id), 400, 'NBW_ERR_ENVELOPE_INVALID');
    }
    expect(rest.requests.length).toBe(0);
    await stillServing(peer);
  });

  it('answers 403 to uris and methods the policy refuses, never calling the REST API', async () => {
    const { peer, rest } = await start({ config: { 'rest.allowedMethods': 'GET,POST' } });
    for (const uri of ['http://169.254.169.254/latest/', '//evil/netbackup/', '/netbackup/../admin', '/netbackup/%2e%2e/x', '/other/api', '/netbackup/a\r\nX: 1']) {
      bridgeError(await peer.command('GET', uri), 403, 'NBW_ERR_POLICY_URI');
    }
    bridgeError(await peer.command('DELETE', '/netbackup/x'), 403, 'NBW_ERR_POLICY_METHOD');
    bridgeError(await peer.command('OPTIONS', '/netbackup/x'), 403, 'NBW_ERR_POLICY_METHOD');
    expect(rest.requests.length).toBe(0);
    await stillServing(peer);
  });

  it('answers 413 to a frame above cloud.maxMessageBytes and keeps serving', async () => {
    const { peer, rest } = await start({ config: { 'cloud.maxMessageBytes': '2048' } });
    const id = peer.sendCommand('POST', '/netbackup/x', { parameters: JSON.stringify({ pad: 'x'.repeat(4096) }) });
    bridgeError(await peer.responseFor(id), 413, 'NBW_ERR_TOO_LARGE');
    expect(rest.requests.length).toBe(0);
    await stillServing(peer);
  });
});

describe('the CONNECT handshake', () => {
  it('runs no command before the CONNECT is answered valid:true', async () => {
    const { peer, rest } = await start({ answerConnect: false });
    const req = await peer.connectRequest();
    peer.sendCommand('GET', '/netbackup/admin/jobs/early');
    await sleep(300);
    expect(rest.requests.length).toBe(0);
    peer.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: true }, req.id as string));
    expect((await peer.command('GET', '/netbackup/admin/jobs/late')).payload.responseCode).toBe(200);
    expect(rest.requests.map((r) => r.url)).toEqual(['/netbackup/admin/jobs/late']);
  });
});

describe('shutdown', () => {
  it('finishes calls in flight and sends their answers, answers waiting and new requests 503, then closes with 1001', async () => {
    const g = gate();
    const { peer, daemon, rest } = await start({ config: { 'queue.concurrency': '2' }, rest: g.handler });
    const running = [peer.sendCommand('GET', '/netbackup/a'), peer.sendCommand('GET', '/netbackup/b')];
    const waiting = peer.sendCommand('GET', '/netbackup/c');
    await sleep(100);
    const stopped = daemon.stop();
    bridgeError(await peer.responseFor(waiting), 503, 'NBW_ERR_SHUTTING_DOWN');
    bridgeError(await peer.command('GET', '/netbackup/d'), 503, 'NBW_ERR_SHUTTING_DOWN');
    g.release();
    for (const id of running) expect((await peer.responseFor(id)).payload.responseCode).toBe(200);
    await stopped;
    expect(await peer.closed).toBe(1001);
    expect(rest.requests.length).toBe(2);
  });

  it('aborts calls still running when shutdown.graceMs runs out and answers them 504', async () => {
    const { peer, daemon } = await start({ config: { 'shutdown.graceMs': '200' }, rest: () => {} });
    const id = peer.sendCommand('POST', '/netbackup/slow');
    await sleep(100);
    await daemon.stop();
    const body = bridgeError(await peer.responseFor(id), 504, 'NBW_ERR_REST_TIMEOUT');
    expect(body.errorMessage).toMatch(/outcome is unknown/);
  });
});

describe('logs', () => {
  it('never contain the token, the JWT, parameters or bodies, even at debug', async () => {
    const password = 'Pa55-w0rd-never-logged';
    const secretBody = 'response-body-secret-value';
    const { peer, logs, config } = await start({ rest: (_req, res) => sendJson(res, 200, { secretBody }) });
    await peer.command('POST', '/netbackup/config/servers/vmservers?apikey=query-secret', {
      headers: { Authorization: JWT, Cookie: 'JSESSIONID=cookie-secret', 'Content-Type': NB_MEDIA_TYPE },
      parameters: JSON.stringify({ userId: 'admin', password }),
    });
    bridgeError(await peer.command('GET', '/outside?token=query-secret-2', { headers: { Authorization: JWT } }), 403);
    const text = logs.text();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [config.cloud.token as string, JWT, JWT.split('.')[2] as string, password, secretBody, 'cookie-secret', 'query-secret', 'query-secret-2']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('/netbackup/config/servers/vmservers');
  });

  it('logs each answer at debug with id, method, path, status and duration', async () => {
    const { peer, logs } = await start({ rest: ok });
    const id = peer.sendCommand('GET', '/netbackup/admin/jobs?x=1');
    await peer.responseFor(id);
    await sleep(20);
    const line = logs.lines().find((l) => l.msg === 'answered' && l.id === id);
    expect(line).toMatchObject({ level: 'debug', method: 'GET', path: '/netbackup/admin/jobs', status: 200, mod: 'commands' });
    expect(typeof line?.ms).toBe('number');
  });
});
