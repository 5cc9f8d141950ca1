// The layers around a backend's REST client, the router in front of the backends, and the
// backends part that replaces them on a reload. The REST client underneath is an in-memory
// function here: the layers do no I/O of their own.
import { describe, expect, it } from 'vitest';
import type { AuthProfile, Signed } from '../../src/backends/auth/profile.js';
import { compose, filtering, signing, type Layer, type Send } from '../../src/backends/layers.js';
import { BackendsPart } from '../../src/backends/part.js';
import type { Config } from '../../src/config/load.js';
import { loadConfig } from '../../src/config/load.js';
import { AnsweredError } from '../../src/errors.js';
import { toPayload } from '../../src/protocol/codec.js';
import type { CommandResponsePayload } from '../../src/protocol/envelope.js';
import type { HttpResult, RestCall } from '../../src/rest/client.js';
import { captureLog } from '../support/log.js';

const ok = (body = 'ok', headers: Record<string, string> = {}): CommandResponsePayload => ({ headers, responseCode: 200, body });
const http = (body = 'ok', status = 200): HttpResult => ({ status, headers: {}, body: Buffer.from(body) });
const text = (res: HttpResult) => res.body.toString('utf8');
const call: RestCall = { method: 'GET', path: '/x?q=1', headers: { accept: 'application/json' } };

describe('compose', () => {
  it('wraps the base in the layers, the first outermost', async () => {
    const seen: string[] = [];
    const tag = (name: string): Layer => (next) => async (c) => {
      seen.push(`${name} in`);
      const res = await next({ ...c, headers: { ...c.headers, via: `${c.headers.via ?? ''}${name}` } });
      seen.push(`${name} out`);
      return { ...res, body: Buffer.from(`${text(res)}<${name}`) };
    };
    const base: Send = async (c) => (seen.push(`base via ${c.headers.via}`), http('base'));
    const res = await compose(base, [tag('outer'), tag('inner')])(call);
    expect(seen).toEqual(['outer in', 'inner in', 'base via outerinner', 'inner out', 'outer out']);
    expect(text(res)).toBe('base<inner<outer');
  });

  it('with no layers is the base itself', async () => {
    const base: Send = async () => http('plain');
    expect(compose(base, [])).toBe(base);
  });
});

/** A profile whose sessions are numbered; `stale` says which of them a 401 shows stale. */
function profile(stale = (_s: number) => true) {
  let session = 1;
  const events: string[] = [];
  const p: AuthProfile = {
    apply: async (c) => (events.push(`apply ${session}`), { call: { ...c, headers: { ...c.headers, authorization: `SESSION-${session}` } }, session, fresh: false }),
    unauthorized: async (s: Signed) => {
      events.push(`401 on ${s.session}`);
      if (!stale(s.session)) return false;
      session++;
      return true;
    },
    accepted: (s) => void events.push(`accepted ${s.session}`),
    inspect: (res) => void events.push(`inspect ${res.status}`),
    secrets: () => [`SESSION-${session}`, 'the-password'],
    close: async () => {},
  };
  return { p, events };
}

describe('signing', () => {
  it('signs the call and reports the session accepted', async () => {
    const { p, events } = profile();
    const sent: RestCall[] = [];
    const res = await signing(p)(async (c) => (sent.push(c), http()))(call);
    expect(res.status).toBe(200);
    expect(sent[0]?.headers).toEqual({ accept: 'application/json', authorization: 'SESSION-1' });
    expect(events).toEqual(['apply 1', 'accepted 1', 'inspect 200']);
  });

  it('makes the call once more after a 401 on a stale session, signed with the new one', async () => {
    const { p, events } = profile();
    const sent: string[] = [];
    const send: Send = async (c) => (sent.push(c.headers.authorization ?? ''), sent.length === 1 ? http('', 401) : http());
    expect((await signing(p)(send)(call)).status).toBe(200);
    expect(sent).toEqual(['SESSION-1', 'SESSION-2']);
    expect(events).toEqual(['apply 1', '401 on 1', 'apply 2', 'accepted 2', 'inspect 200']);
  });

  it('passes a 401 about the call itself on, once, without calling the session accepted', async () => {
    const { p, events } = profile(() => false);
    let calls = 0;
    const res = await signing(p)(async () => (calls++, http('no', 401)))(call);
    expect([res.status, calls]).toEqual([401, 1]);
    expect(events).toEqual(['apply 1', '401 on 1', 'inspect 401']);
  });

  it('never retries twice: a second 401 goes back as it is', async () => {
    const { p } = profile();
    let calls = 0;
    const res = await signing(p)(async () => (calls++, http('', 401)))(call);
    expect([res.status, calls]).toEqual([401, 2]);
  });

  it('lets a failed login through as its answer, without calling the backend', async () => {
    const { p } = profile();
    p.apply = () => Promise.reject(new AnsweredError('NBW_ERR_BACKEND_LOGIN', 'b: logging in failed'));
    let calls = 0;
    await expect(signing(p)(async () => (calls++, http()))(call)).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    expect(calls).toBe(0);
  });
});

describe('filtering', () => {
  const options = (hits: number[], logs = captureLog()) => ({
    backend: 'b', allow: new Set(['content-type']), secrets: () => ['the-password'], maxBytes: 1 << 20, log: logs.log.child({ backend: 'b' }), redacted: (n: number) => void hits.push(n),
  });

  it('replaces the credentials a backend echoes, drops headers off the allowlist, counts and logs it without the query', async () => {
    const hits: number[] = [];
    const logs = captureLog();
    const res = await filtering(options(hits, logs))(async () => ok('{"echo":"the-password"}', { 'content-type': 'application/json', 'set-cookie': 'sid=1' }))(call);
    expect(res.body).toBe('{"echo":"[redacted]"}');
    expect(res.headers).toEqual({ 'content-type': 'application/json' });
    expect(hits).toEqual([1]);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ backend: 'b', path: '/x', count: 1 }));
    expect(logs.text()).not.toContain('the-password');
  });

  it('withholds an answer compressed in a way it cannot check', async () => {
    await expect(filtering(options([]))(async () => ok('xx', { 'content-encoding': 'zstd' }))(call)).rejects.toMatchObject({ code: 'NBW_ERR_REST_FAILED' });
  });

  it('after the signing layer and the codec, it sees the answer of the retried call, with the new session among the secrets', async () => {
    const { p } = profile();
    const hits: number[] = [];
    const send: Send = async (c) => (c.headers.authorization === 'SESSION-1' ? http('', 401) : http(`token ${c.headers.authorization}`));
    const signed = compose(send, [signing(p)]);
    const layered = compose<CommandResponsePayload>(async (c) => toPayload(await signed(c)), [filtering({ ...options(hits), secrets: () => p.secrets() })]);
    expect((await layered(call)).body).toBe('token [redacted]');
    expect(hits).toEqual([1]);
  });
});

describe('the backends part', () => {
  const config = (env: Record<string, string>): Config => loadConfig({ env: { NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/x', NBWSS_CLOUD_TOKEN: 't', ...env }, purpose: 'run' }).config;

  it('routes by the current router, and a reload that changes a backend or the login waits replaces it for new calls', async () => {
    const part = new BackendsPart(config({ NBWSS_ALLOWED_PATHS: '/netbackup/' }), captureLog().log, (await import('../../src/metrics/telemetry.js')).NO_TELEMETRY);
    const before = part.router;
    expect(part.route('GET', '/netbackup/jobs')).toMatchObject({ ok: true, path: '/netbackup/jobs' });
    expect(part.route('GET', '/other/x')).toMatchObject({ ok: false });
    expect(part.reload(config({ NBWSS_ALLOWED_PATHS: '/netbackup/' }), config({ NBWSS_ALLOWED_PATHS: '/netbackup/' }))).toEqual([]);
    expect(part.router).toBe(before);
    expect(part.reload(config({ NBWSS_ALLOWED_PATHS: '/netbackup/' }), config({ NBWSS_ALLOWED_PATHS: '/other/' }))).toEqual([]);
    expect(part.router).not.toBe(before);
    expect(part.route('GET', '/other/x')).toMatchObject({ ok: true });
    expect(part.route('GET', '/netbackup/jobs')).toMatchObject({ ok: false });
    const current = part.router;
    part.reload(config({ NBWSS_ALLOWED_PATHS: '/other/' }), config({ NBWSS_ALLOWED_PATHS: '/other/', NBWSS_LOGIN_MIN_MS: '5000', NBWSS_LOGIN_MAX_MS: '9000' }));
    expect(part.router).not.toBe(current);
    await part.stop();
  });
});
