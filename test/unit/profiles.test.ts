// Auth profiles without I/O: a backend of our own in memory answers the profile's logins.
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/backends/auth/registry.js';
import { sessionOf } from '../../src/backends/auth/storware.js';
import type { AuthProfile, ProfileContext } from '../../src/backends/auth/profile.js';
import { silentLogger } from '../../src/log/logger.js';
import type { CommandResponsePayload } from '../../src/protocol/envelope.js';
import type { HttpResult } from '../../src/rest/client.js';
import type { RestCall } from '../../src/rest/client.js';

/** An answer written as the wire shows it, as the REST client returns it. */
const asHttp = (p: CommandResponsePayload): HttpResult => ({ status: p.responseCode, headers: p.headers, body: Buffer.from(p.body, p.bodyEncoding === 'base64' ? 'base64' : 'utf8') });

const noOtherOrigin = (): never => {
  throw new Error('these profiles call no other origin');
};

function cohesity(): { profile: AuthProfile; calls: RestCall[] } {
  let n = 0;
  const calls: RestCall[] = [];
  const send = async (call: RestCall): Promise<CommandResponsePayload> => {
    calls.push(call);
    n++;
    return { headers: {}, responseCode: 201, body: JSON.stringify({ accessToken: `ACCESS-TOKEN-NUMBER-${n}-abcdef`, tokenType: 'Bearer' }) };
  };
  const spec = PROFILES.get('cohesity');
  if (!spec) throw new Error('no cohesity profile');
  const profile = spec.create(
    { apiKey: null, username: 'u', password: 'a-long-password', domain: 'LOCAL', tenantId: null },
    { send: async (c: RestCall) => asHttp(await send(c)), backend: 'c', log: silentLogger(), reportError: () => {}, sessions: () => {}, strip: new Set(['authorization']), connect: noOtherOrigin },
  );
  return { profile, calls };
}

describe('session profiles', () => {
  it('keep the secrets of a replaced session among those no answer may carry', async () => {
    const { profile } = cohesity();
    const call: RestCall = { method: 'GET', path: '/v2/x', headers: {} };
    const first = await profile.apply(call);
    expect(first.call.headers.authorization).toBe('Bearer ACCESS-TOKEN-NUMBER-1-abcdef');
    await profile.apply(call);
    const used = await profile.apply(call);
    expect(await profile.unauthorized(used)).toBe(true);
    const second = await profile.apply(call);
    expect(second.call.headers.authorization).toBe('Bearer ACCESS-TOKEN-NUMBER-2-abcdef');
    const secrets = profile.secrets();
    expect(secrets).toContain('a-long-password');
    expect(secrets).toContain('Bearer ACCESS-TOKEN-NUMBER-2-abcdef');
    expect(secrets).toContain('Bearer ACCESS-TOKEN-NUMBER-1-abcdef');
    expect(secrets).toContain('ACCESS-TOKEN-NUMBER-1-abcdef');
  });
});

const ctx = (send: (call: RestCall) => Promise<CommandResponsePayload> = async () => ({ headers: {}, responseCode: 200, body: '' }), errors: string[] = []) => ({
  send: async (c: RestCall) => asHttp(await send(c)),
  backend: 'b',
  log: silentLogger(),
  reportError: () => void errors.push('error'),
  sessions: () => {},
  strip: new Set(['authorization', 'cookie']),
  connect: noOtherOrigin,
});
const create = (type: string, values: Record<string, string | null>, c: ProfileContext = ctx()) => {
  const spec = PROFILES.get(type);
  if (!spec) throw new Error(`no ${type} profile`);
  return spec.create(values, c);
};

describe('the AhsayCBS profile', () => {
  const ahsay = (errors: string[] = []) => create('ahsay', { username: 'system', password: 'ahsay-password' }, ctx(undefined, errors));
  const body = async (p: AuthProfile, call: Partial<RestCall>) => {
    const signed = await p.apply({ method: 'POST', path: '/obs/api/json/2/ListUsers.do', headers: { authorization: 'cloud', accept: 'application/json' }, ...call });
    return { call: signed.call, json: JSON.parse(signed.call.body as string) as Record<string, unknown> };
  };

  it('sends every call as POST with the credentials in a JSON body, overwriting the cloud\'s, and no cloud credential header', async () => {
    const p = ahsay();
    expect(p.methodSent?.('GET')).toBe('POST');
    expect(p.methodSent?.('PUT')).toBe('PUT');
    const r = await body(p, { method: 'GET', body: '{"Owner":"","SysUser":"cloud","SysPwd":"cloud-pw"}' });
    expect(r.call.method).toBe('POST');
    expect(r.json).toEqual({ Owner: '', SysUser: 'system', SysPwd: 'ahsay-password' });
    expect(r.call.headers).toEqual({ accept: 'application/json', 'content-type': 'application/json' });
  });

  it.each([
    ['no body', undefined],
    ['an empty body', '   '],
    ['an empty object', '{}'],
  ])('starts from an empty object for %s', async (_, b) => {
    expect((await body(ahsay(), { body: b })).json).toEqual({ SysUser: 'system', SysPwd: 'ahsay-password' });
  });

  it.each([
    ['a body that is not JSON', 'Owner=', /they are not JSON/],
    ['a JSON array', '[1,2]', /they are an array/],
    ['a JSON string', '"x"', /they are a string/],
    ['a JSON number', '7', /they are a number/],
    ['JSON null', 'null', /they are null/],
  ])('answers 400 for %s instead of sending the credentials alone', async (_, b, why) => {
    await expect(ahsay().apply({ method: 'POST', path: '/x', headers: {}, body: b })).rejects.toMatchObject({
      code: 'NBW_ERR_ENVELOPE_INVALID', status: 400, message: expect.stringMatching(why),
    });
  });

  it('answers 400 for parameters nested deeper than the bound', async () => {
    let deep = '1';
    for (let i = 0; i < 200; i++) deep = `{"a":${deep}}`;
    await expect(ahsay().apply({ method: 'POST', path: '/x', headers: {}, body: deep })).rejects.toMatchObject({ code: 'NBW_ERR_ENVELOPE_INVALID', status: 400, message: expect.stringMatching(/deeper than 128/) });
  });

  it('counts an error reported with status 200, and nothing else', () => {
    const errors: string[] = [];
    const p = ahsay(errors);
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"Error","Message":"no such user"}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status" : "Error"}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"OK"}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"OK","ExptType":"","Message":""}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"OK","ExptType":"   "}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"OK","User":[{"Note":"\\"ExptType\\":\\"x\\""}]}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '"ExptType" but not JSON' }));
    p.inspect(asHttp({ headers: {}, responseCode: 500, body: '{"Status":"Error"}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '"Error"' }));
    expect(errors).toHaveLength(2);
    // An exception reported beside "Status":"OK" counts too.
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"OK","ExptType":"com.ahsay.obx.core.ex.UserNotFoundException","Message":"no such user"}' }));
    p.inspect(asHttp({ headers: {}, responseCode: 200, body: '{"Status":"OK","ExptType":"x"}', bodyEncoding: 'base64' }));
    expect(errors).toHaveLength(3);
    expect(p.secrets()).toEqual(['ahsay-password']);
  });
});

describe('the Storware profile', () => {
  it('keeps every cookie of the login answer (name=value only), signs with them, logs out with them, and counts them as secrets', async () => {
    const calls: RestCall[] = [];
    const send = async (call: RestCall): Promise<CommandResponsePayload> => {
      calls.push(call);
      if (call.path === '/api/session/login') return { headers: { 'set-cookie': 'JSESSIONID=abc123; Path=/; HttpOnly\nroute=r1; Expires=Wed, 21 Oct 2099 07:28:00 GMT' }, responseCode: 201, body: '{}' };
      return { headers: {}, responseCode: 200, body: '' };
    };
    const p = create('storware', { username: 'svc', password: 'storware-password' }, ctx(send));
    const signed = await p.apply({ method: 'GET', path: '/api/virtual-machines', headers: { cookie: 'cloud=1', accept: 'application/json' } });
    expect(signed.call.headers).toEqual({ accept: 'application/json', cookie: 'JSESSIONID=abc123; route=r1' });
    expect(JSON.parse(calls[0]?.body as string)).toEqual({ login: 'svc', password: 'storware-password' });
    expect(p.secrets()).toEqual(['storware-password', 'JSESSIONID=abc123; route=r1', 'abc123', 'r1']);
    await p.close();
    expect(calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/session/logout', headers: { cookie: 'JSESSIONID=abc123; route=r1' } });
  });

  it('reads the session from live cookies, a session header and a token in the body, and sends back all it found', () => {
    const now = Date.parse('2026-11-28T00:00:00Z');
    expect(sessionOf({ 'set-cookie': 'A=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT\nB=2; Path=/', 'x-auth-token': 't' }, '{"token":"u"}', now)).toEqual({
      session: { headers: { cookie: 'A=1; B=2', 'x-auth-token': 't', authorization: 'Bearer u' }, parts: ['1', '2', 't', 'u'] },
      how: 'cookie A, B and header x-auth-token and token in the body\'s "token", sent as a bearer token',
    });
    expect(sessionOf({ 'set-cookie': '=nameless', 'x-session-id': ' s1 ' }, '', now)).toEqual({ session: { headers: { 'x-session-id': 's1' }, parts: ['s1'] }, how: 'header x-session-id' });
    expect(sessionOf({}, '{"sessionId":"abc"}', now)).toEqual({ session: { headers: { authorization: 'Bearer abc' }, parts: ['abc'] }, how: 'token in the body\'s "sessionId", sent as a bearer token' });
    // Cookies being cleared are no session; a load balancer's cookie beside a token goes along with it.
    const cleared = ['JSESSIONID=; Path=/', 'JSESSIONID=""', 'S=1; Max-Age=0', 'S=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT'];
    for (const c of cleared) expect(sessionOf({ 'set-cookie': c }, '', now), c).toBeNull();
    expect(sessionOf({ 'set-cookie': 'AWSALB=lb1; Path=/' }, '{"token":"real"}', now)?.session.headers).toEqual({ cookie: 'AWSALB=lb1', authorization: 'Bearer real' });
    // A token that cannot travel in a header is not taken.
    for (const body of ['', 'not json', 'null', '"token"', '{"token":""}', '{"token":7}', '{"token":"a\\nb"}', '{"token":"abc\u20ac"}', '{"token":"a b"}']) expect(sessionOf({}, body, now), body).toBeNull();
    expect(sessionOf({ 'x-auth-token': 'a\u20acb' }, '', now)).toBeNull();
  });

  it('reads cookies joined either way, trims names and values, and reads only Max-Age and Expires as such', () => {
    const now = Date.parse('2026-11-28T00:00:00Z');
    const joined = 'A=1,BB=2, CCC=3; Expires=Wed, 21 Oct 2099 07:28:00 GMT,  D=4 ';
    expect(sessionOf({ 'set-cookie': joined }, '', now)?.session.headers.cookie).toBe('A=1; BB=2; CCC=3; D=4');
    const kept = ['S=1; Max-Age=', 'S=1; Max-Age=3600', 'S=1; X-Max-Age=0', 'S=1; Max-Age-Extra=0', 'S=1; Max-Age', 'S=1; X-Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'S=1; Expires-At=Thu, 01 Jan 1970 00:00:00 GMT', `S=1; Expires=${new Date(now + 1000).toUTCString()}`];
    for (const c of kept) expect(sessionOf({ 'set-cookie': c }, '', now)?.session.headers.cookie, c).toBe('S=1');
    expect(sessionOf({ 'set-cookie': `S=1; Expires=${new Date(now).toUTCString()}` }, '', now)).toBeNull();
    expect(sessionOf({}, '{"token":" abc "}', now)?.session.headers).toEqual({ authorization: 'Bearer abc' });
  });

  it('fails the login without a session cookie, or with a status other than 200 and 201, never naming the password', async () => {
    const answers: [CommandResponsePayload, RegExp][] = [
      [{ headers: {}, responseCode: 201, body: '{}' }, /no session in the login answer/],
      [{ headers: { 'set-cookie': 'a=b' }, responseCode: 401, body: '{}' }, /answered 401/],
    ];
    for (const [answer, said] of answers) {
      const calls: RestCall[] = [];
      const p = create('storware', { username: 'svc', password: 'storware-password' }, ctx(async (c) => (calls.push(c), answer)));
      const err = await p.apply({ method: 'GET', path: '/api/x', headers: {} }).catch((e: unknown) => e as Error);
      expect(err).toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN', message: expect.stringMatching(said) });
      expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/session/login', headers: { 'content-type': 'application/json', accept: 'application/json' } });
      expect(String((err as Error).message)).not.toContain('storware-password');
    }
  });
});

describe('the Cohesity profile', () => {
  it('with an API key: the apiKey header and the tenant as given, no login, and a 401 is answered as it is', async () => {
    const calls: RestCall[] = [];
    const p = create('cohesity', { apiKey: 'cohesity-api-key', username: null, password: null, domain: 'LOCAL', tenantId: 'tenant-1/' }, ctx(async (c) => (calls.push(c), { headers: {}, responseCode: 200, body: '' })));
    const signed = await p.apply({ method: 'GET', path: '/v2/x', headers: { authorization: 'cloud', apikey: 'cloud-key' } });
    expect(signed.call.headers).toEqual({ apikey: 'cohesity-api-key', 'x-ibm-tenant-id': 'tenant-1/' });
    expect(calls).toEqual([]);
    expect(await p.unauthorized(signed)).toBe(false);
    expect(p.secrets()).toContain('cohesity-api-key');
  });

  it('with a password: logs in with the domain, signs with "<tokenType> <accessToken>" (Bearer when the type is missing), and fails a login without a token', async () => {
    const answers = [{ accessToken: 'tok-1', tokenType: 'Custom' }, { accessToken: 'tok-2' }, { nothing: true }];
    const calls: RestCall[] = [];
    const login = () => create('cohesity', { apiKey: null, username: 'u', password: 'cohesity-password', domain: 'CORP', tenantId: null }, ctx(async (c) => {
      calls.push(c);
      return { headers: {}, responseCode: 201, body: JSON.stringify(answers.shift()) };
    }));
    const first = await login().apply({ method: 'GET', path: '/v2/x', headers: {} });
    expect(first.call.headers).toEqual({ authorization: 'Custom tok-1' });
    expect(JSON.parse(calls[0]?.body as string)).toEqual({ username: 'u', password: 'cohesity-password', domain: 'CORP' });
    expect(calls[0]?.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' });
    const second = await login().apply({ method: 'GET', path: '/v2/x', headers: {} });
    expect(second.call.headers).toEqual({ authorization: 'Bearer tok-2' });
    await expect(login().apply({ method: 'GET', path: '/v2/x', headers: {} })).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN', message: expect.stringMatching(/no accessToken/) });
  });
});

describe('the Veeam profiles', () => {
  it('Enterprise Manager: Basic login, the session header, the session id from JSON or XML; a login without the header fails', async () => {
    const em = (answer: CommandResponsePayload) => {
      const calls: RestCall[] = [];
      return { calls, p: create('veeam-em', { username: 'svc', password: 'em-password' }, ctx(async (c) => (calls.push(c), c.method === 'POST' ? answer : { headers: {}, responseCode: 204, body: '' }))) };
    };
    const xml = em({ headers: { 'x-restsvcsessionid': 'sess-token' }, responseCode: 201, body: '<LogonSession><SessionId>urn:veeam:LogonSession:42</SessionId></LogonSession>' });
    const signed = await xml.p.apply({ method: 'GET', path: '/api/jobs', headers: {} });
    expect(xml.calls[0]?.headers).toEqual({ authorization: `Basic ${Buffer.from('svc:em-password').toString('base64')}`, accept: 'application/json' });
    expect(xml.calls[0]?.path).toBe('/api/sessionMngr/?v=latest');
    expect(signed.call.headers).toEqual({ 'x-restsvcsessionid': 'sess-token' });
    await xml.p.close();
    expect(xml.calls.at(-1)).toMatchObject({ method: 'DELETE', path: `/api/logonSessions/${encodeURIComponent('urn:veeam:LogonSession:42')}` });
    const json = em({ headers: { 'x-restsvcsessionid': 't2' }, responseCode: 201, body: '{"SessionId":"id-json"}' });
    await json.p.apply({ method: 'GET', path: '/api/jobs', headers: {} });
    expect(json.p.secrets()).toEqual(expect.arrayContaining(['em-password', 't2', 'id-json']));
    // No session id in the answer (neither JSON nor XML): nothing to log out, and only the token is secret.
    const bare = em({ headers: { 'x-restsvcsessionid': 't3' }, responseCode: 201, body: 'no id here' });
    await bare.p.apply({ method: 'GET', path: '/api/jobs', headers: {} });
    expect(bare.p.secrets()).toContain('t3');
    await bare.p.close();
    expect(bare.calls.map((c) => c.method)).toEqual(['POST']);
    const none = em({ headers: {}, responseCode: 201, body: '{}' });
    await expect(none.p.apply({ method: 'GET', path: '/api/jobs', headers: {} })).rejects.toMatchObject({ message: expect.stringMatching(/no X-RestSvcSessionId/) });
  });

  it('Backup & Replication: the password grant with x-api-version, the token\'s lifetime (900 s when not given), and a token answer without one fails', async () => {
    const vbr = (answer: Record<string, unknown>) => {
      const calls: RestCall[] = [];
      return { calls, p: create('veeam-vbr', { username: 'svc', password: 'vbr-password', apiVersion: '1.2-rev0' }, ctx(async (c) => (calls.push(c), { headers: {}, responseCode: 200, body: JSON.stringify(answer) }))) };
    };
    const ok = vbr({ access_token: 'acc', refresh_token: 'ref' });
    const signed = await ok.p.apply({ method: 'GET', path: '/api/v1/jobs', headers: {} });
    expect(signed.call.headers).toEqual({ authorization: 'Bearer acc', 'x-api-version': '1.2-rev0' });
    expect(new URLSearchParams(ok.calls[0]?.body as string).get('grant_type')).toBe('password');
    expect(ok.calls[0]?.headers).toEqual({ 'content-type': 'application/x-www-form-urlencoded', 'x-api-version': '1.2-rev0', accept: 'application/json' });
    expect(ok.calls).toHaveLength(1);
    expect(ok.p.secrets()).toEqual(expect.arrayContaining(['vbr-password', 'acc', 'ref']));
    const noRefresh = vbr({ access_token: 'acc2', refresh_token: 7 });
    await noRefresh.p.apply({ method: 'GET', path: '/api/v1/jobs', headers: {} });
    expect(noRefresh.p.secrets()).not.toContain(7);
    expect(noRefresh.p.secrets()).toContain('acc2');
    expect(noRefresh.p.secrets().every((x) => typeof x === 'string')).toBe(true);
    const bad = vbr({ token: 'x' });
    await expect(bad.p.apply({ method: 'GET', path: '/api/v1/jobs', headers: {} })).rejects.toMatchObject({ message: expect.stringMatching(/no access_token/) });
  });

describe('profile helpers and the session profiles\' bookkeeping', () => {
  it('reads a login answer as a JSON object, or as nothing', async () => {
    const { jsonOf } = await import('../../src/backends/auth/profile.js');
    const r = (body: string) => jsonOf(asHttp({ headers: {}, responseCode: 200, body }));
    expect([r('{"a":1}'), r('null'), r('"x"'), r('7'), r('not json')]).toEqual([{ a: 1 }, {}, {}, {}, {}]);
  });

  it('takes a success after a replacement as the session working again, so the next 401 replaces it', async () => {
    const { profile } = cohesity();
    const call: RestCall = { method: 'GET', path: '/v2/x', headers: {} };
    await profile.apply(call);
    const old = await profile.apply(call);
    expect(await profile.unauthorized(old)).toBe(true);
    const replaced = await profile.apply(call);
    expect(await profile.unauthorized(replaced)).toBe(false);
    profile.accepted(replaced);
    expect(await profile.unauthorized(replaced)).toBe(true);
  });

  it('answers a 401 on a call signed with an API key as it is: an API key does not go stale', async () => {
    const p = create('cohesity', { apiKey: 'k-1', username: null, password: null, domain: 'LOCAL', tenantId: null }, ctx(async () => ({ headers: {}, responseCode: 200, body: '' })));
    await p.apply({ method: 'GET', path: '/v2/x', headers: {} });
    const signed = await p.apply({ method: 'GET', path: '/v2/x', headers: {} });
    expect(signed.fresh).toBe(false);
    expect(await p.unauthorized(signed)).toBe(false);
  });

  it('renews a Backup & Replication token about to run out with its refresh grant, and keeps the old token among the secrets', async () => {
    const calls: RestCall[] = [];
    let n = 0;
    const p = create('veeam-vbr', { username: 'svc', password: 'vbr-password', apiVersion: '1.2-rev0' }, ctx(async (c) => {
      calls.push(c);
      n++;
      return { headers: {}, responseCode: 200, body: JSON.stringify({ access_token: `acc-${n}`, refresh_token: `ref-${n}`, expires_in: 30 }) };
    }));
    await p.apply({ method: 'GET', path: '/api/v1/jobs', headers: {} });
    const second = await p.apply({ method: 'GET', path: '/api/v1/jobs', headers: {} });
    const grants = calls.map((c) => new URLSearchParams(c.body as string).get('grant_type'));
    expect(grants.slice(0, 2)).toEqual(['password', 'refresh_token']);
    expect(second.call.headers.authorization).toMatch(/^Bearer acc-\d$/);
    expect(p.secrets()).toEqual(expect.arrayContaining(['acc-1', 'ref-1']));
  });
});
});

describe('login waits (login.minMs, login.maxMs)', () => {
  const failingLogin = () => {
    let logins = 0;
    const send = async (): Promise<CommandResponsePayload> => {
      logins++;
      return { headers: {}, responseCode: 500, body: '' };
    };
    return { send, logins: () => logins };
  };
  const values = { apiKey: null, username: 'u', password: 'a-long-password', domain: 'LOCAL', tenantId: null };
  const call: RestCall = { method: 'GET', path: '/v2/x', headers: {} };

  it('a failed login is not tried again before login.minMs: the calls meanwhile get its failure', async () => {
    const backend = failingLogin();
    const profile = create('cohesity', values, { ...ctx(backend.send), login: { minMs: 60_000, maxMs: 60_000 } });
    await expect(profile.apply(call)).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    await expect(profile.apply(call)).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    expect(backend.logins()).toBe(1);
  });

  it('with short waits, it is tried again once they pass', async () => {
    const backend = failingLogin();
    const profile = create('cohesity', values, { ...ctx(backend.send), login: { minMs: 1, maxMs: 2 } });
    await expect(profile.apply(call)).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    await new Promise((r) => setTimeout(r, 20));
    await expect(profile.apply(call)).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    expect(backend.logins()).toBe(2);
  });
});

describe('the Proxmox Backup Server profile', () => {
  const values = { tokenId: 'backup@pbs!cloud', tokenSecret: '0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d' };

  it('sends the API token in Authorization, replacing whatever the cloud sent, and keeps other headers', async () => {
    const p = create('proxmox-pbs', values);
    const signed = await p.apply({ method: 'GET', path: '/api2/json/admin/datastore', headers: { authorization: 'cloud-jwt', cookie: 'x=1', accept: 'application/json' } });
    expect(signed.call.headers).toEqual({ authorization: 'PBSAPIToken=backup@pbs!cloud:0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d', accept: 'application/json' });
    expect(signed.session).toBe(0);
  });

  it('counts the secret and the whole header among what no answer may carry', () => {
    const p = create('proxmox-pbs', values);
    expect(p.secrets()).toEqual(['0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d', 'PBSAPIToken=backup@pbs!cloud:0c5e8b3a-7a51-4f4e-9d54-1f6cbb1b2c3d']);
  });

  it('has no session: a 401 is the answer, not a reason to try again', async () => {
    const p = create('proxmox-pbs', values);
    expect(await p.unauthorized(await p.apply({ method: 'GET', path: '/x', headers: {} }))).toBe(false);
  });
});

describe('reading a login answer', () => {
  it('takes the body as UTF-8 text, and a body that is not UTF-8 as no text', async () => {
    const { jsonOf, textOf } = await import('../../src/backends/auth/profile.js');
    expect(textOf({ status: 200, headers: {}, body: Buffer.from('{"token":"é"}', 'utf8') })).toBe('{"token":"é"}');
    expect(textOf({ status: 200, headers: {}, body: Buffer.from([0xff, 0xfe, 0x41]) })).toBe('');
    expect(jsonOf({ status: 200, headers: {}, body: Buffer.from('{"SessionId":"s-1"}') })).toEqual({ SessionId: 's-1' });
  });
});
