// Loopback simulators of other backup products' REST APIs, faithful in what the bridge relies
// on: the login flow and its status codes, the session header or cookie, sessions that expire
// (401), and an endpoint or two. The demo and the tests both use them.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RecordedRequest, RestHandler } from './fake-rest.js';

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'application/xml' : 'application/json', ...headers });
  res.end(text);
};
const json = (req: RecordedRequest): Record<string, unknown> => {
  try {
    return JSON.parse(req.text) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const formOf = (req: RecordedRequest) => new URLSearchParams(req.text);
const pathOf = (req: RecordedRequest) => new URL(req.url, 'http://sim.invalid');

/** What every simulator shares: credentials, live sessions, counts for assertions. */
abstract class ProductSim {
  readonly username: string;
  readonly password: string;
  /** Session credentials currently valid. */
  readonly sessions = new Set<string>();
  logins = 0;
  logouts = 0;
  /** Requests other than logins, for assertions. */
  readonly calls: RecordedRequest[] = [];

  constructor(username = 'svc-cloud', password = 'S3cret-Pa55') {
    this.username = username;
    this.password = password;
  }

  /** Every session expires: the next call with one is answered 401. */
  expireSessions(): void {
    this.sessions.clear();
  }

  abstract handler: RestHandler;
}

/** Veeam Backup Enterprise Manager (port 9398). */
export class VeeamEmSim extends ProductSim {
  readonly sessionIds = new Map<string, string>();
  handler: RestHandler = (req, res) => {
    const url = pathOf(req);
    if (req.method === 'POST' && url.pathname === '/api/sessionMngr/') {
      const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return send(res, 401, { FirstChanceExceptionMessage: 'Unauthorized', StatusCode: 401 });
      this.logins++;
      const token = Buffer.from(randomUUID()).toString('base64');
      const id = `urn:veeam:LogonSession:${randomUUID()}`;
      this.sessions.add(token);
      this.sessionIds.set(id, token);
      return send(res, 201, { UserName: this.username, SessionId: id }, { 'x-restsvcsessionid': token });
    }
    const token = String(req.headers['x-restsvcsessionid'] ?? '');
    if (!this.sessions.has(token)) return send(res, 401, { FirstChanceExceptionMessage: 'Session expired or unknown', StatusCode: 401 });
    this.calls.push(req);
    const wantsJson = String(req.headers.accept ?? '').includes('application/json');
    if (req.method === 'DELETE' && url.pathname.startsWith('/api/logonSessions/')) {
      this.logouts++;
      this.sessions.delete(token);
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/jobs') {
      return wantsJson
        ? send(res, 200, { Refs: [{ Type: 'JobReference', Name: 'Backup Job 1', UID: 'urn:veeam:Job:1' }] })
        : send(res, 200, '<EntityReferences xmlns="http://www.veeam.com/ent/v1.0"><Ref Type="JobReference" Name="Backup Job 1" UID="urn:veeam:Job:1"/></EntityReferences>');
    }
    // A resource this account may not see: 401 although the session is valid, as EM answers for missing rights.
    if (url.pathname === '/api/restricted') return send(res, 401, { FirstChanceExceptionMessage: 'Access denied', StatusCode: 401 });
    const start = /^\/api\/jobs\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'POST' && start && url.searchParams.get('action') === 'start') {
      return send(res, 202, { TaskId: `task-${randomUUID()}`, State: 'Running', Operation: 'StartJob' });
    }
    return send(res, 404, { FirstChanceExceptionMessage: `no resource ${url.pathname}`, StatusCode: 404 });
  };
}

/** Veeam Backup & Replication REST (port 9419). */
export class VeeamVbrSim extends ProductSim {
  readonly refreshTokens = new Set<string>();
  expiresIn = 900;
  handler: RestHandler = (req, res) => {
    const url = pathOf(req);
    if (!req.headers['x-api-version']) return send(res, 400, { errorCode: 'BadRequest', message: 'x-api-version header is required' });
    if (req.method === 'POST' && url.pathname === '/api/oauth2/token') {
      const f = formOf(req);
      const ok =
        (f.get('grant_type') === 'password' && f.get('username') === this.username && f.get('password') === this.password) ||
        (f.get('grant_type') === 'refresh_token' && this.refreshTokens.has(f.get('refresh_token') ?? ''));
      if (!ok) return send(res, 401, { errorCode: 'Unauthorized', message: 'invalid grant' });
      this.logins++;
      const access = randomUUID();
      const refresh = randomUUID();
      this.sessions.add(access);
      this.refreshTokens.add(refresh);
      return send(res, 200, { access_token: access, token_type: 'bearer', refresh_token: refresh, expires_in: this.expiresIn });
    }
    const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.sessions.has(bearer)) return send(res, 401, { errorCode: 'Unauthorized', message: 'token expired' });
    this.calls.push(req);
    if (req.method === 'POST' && url.pathname === '/api/oauth2/logout') {
      this.logouts++;
      this.sessions.delete(bearer);
      return send(res, 200, {});
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/jobs') {
      return send(res, 200, { data: [{ id: 'b2c5-job', name: 'Backup Job 1', type: 'VSphereBackup' }], pagination: { total: 1, count: 1, skip: 0, limit: 200 } });
    }
    return send(res, 404, { errorCode: 'NotFound', message: url.pathname });
  };
}

/** A Cohesity cluster (IBM Backup and Recovery): access tokens or an API key, tenant header recorded. */
export class CohesitySim extends ProductSim {
  apiKey = 'cohesity-api-key-value';
  handler: RestHandler = (req, res) => {
    const url = pathOf(req);
    if (req.method === 'POST' && url.pathname === '/irisservices/api/v1/public/accessTokens') {
      const b = json(req);
      if (b.username !== this.username || b.password !== this.password) return send(res, 401, { errorCode: 'KStatusUnauthorized', message: 'invalid credentials' });
      this.logins++;
      const token = randomUUID();
      this.sessions.add(token);
      return send(res, 201, { accessToken: token, tokenType: 'Bearer', privileges: ['PROTECTION_VIEW'] });
    }
    const auth = String(req.headers.authorization ?? '');
    const ok = (auth.startsWith('Bearer ') && this.sessions.has(auth.slice(7))) || req.headers.apikey === this.apiKey;
    if (!ok) return send(res, 401, { errorCode: 'KStatusUnauthorized', message: 'token expired' });
    this.calls.push(req);
    if (req.method === 'GET' && url.pathname === '/v2/data-protect/protection-groups') {
      return send(res, 200, { protectionGroups: [{ id: '1:2:3', name: 'vm-gold', environment: 'kVMware' }] });
    }
    return send(res, 404, { errorCode: 'KStatusNotFound', message: url.pathname });
  };
}

/** IBM Cloud: the IAM token endpoint, and a Backup and Recovery service that wants its tokens. */
export class IbmCloudSim extends ProductSim {
  apiKey = 'ibm-cloud-api-key-value';
  readonly tenants: (string | undefined)[] = [];
  /** Lifetime given to tokens, in seconds (undefined: left out of the answer). */
  expiresIn: number | undefined = 3600;
  /** Status of the token answer; anything but 200 carries an error. */
  tokenStatus = 200;
  /** Answer without an access_token. */
  omitToken = false;
  /** Headers of the token calls. */
  readonly tokenHeaders: Record<string, unknown>[] = [];
  handler: RestHandler = (req, res) => {
    const url = pathOf(req);
    if (req.method === 'POST' && url.pathname === '/identity/token') {
      this.tokenHeaders.push({ ...req.headers });
      if (this.tokenStatus !== 200) return send(res, this.tokenStatus, { errorCode: 'BXNIM0400E', errorMessage: 'IAM is down' });
      const f = formOf(req);
      if (f.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey' || f.get('apikey') !== this.apiKey) {
        return send(res, 400, { errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found' });
      }
      this.logins++;
      const token = randomUUID();
      this.sessions.add(token);
      if (this.omitToken) return send(res, 200, { token_type: 'Bearer' });
      return send(res, 200, { access_token: token, token_type: 'Bearer', ...(this.expiresIn === undefined ? {} : { expires_in: this.expiresIn }) });
    }
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ') || !this.sessions.has(auth.slice(7))) return send(res, 401, { errorCode: 'Unauthorized' });
    this.calls.push(req);
    this.tenants.push(req.headers['x-ibm-tenant-id'] as string | undefined);
    if (req.method === 'GET' && url.pathname === '/v2/data-protect/protection-groups') return send(res, 200, { protectionGroups: [] });
    // A careless endpoint that reflects the request's credentials.
    if (req.method === 'GET' && url.pathname === '/v2/debug/echo') return send(res, 200, { authorization: auth });
    return send(res, 404, { errorCode: 'NotFound' });
  };
}

/** AhsayCBS JSON API: credentials in every body, errors as 200 with Status Error. */
export class AhsaySim extends ProductSim {
  handler: RestHandler = (req, res) => {
    const url = pathOf(req);
    const m = /^\/(?:obs\/api\/json\/(?:2\/)?|cbs\/api\/json\/)(\w+)\.do$/.exec(url.pathname);
    if (req.method !== 'POST' || !m) return send(res, 404, { Status: 'Error', Message: 'Unknown API' });
    const b = json(req);
    this.calls.push(req);
    if (b.SysUser !== this.username || b.SysPwd !== this.password) return send(res, 200, { Status: 'Error', Message: 'Invalid SysUser or SysPwd' });
    if (m[1] === 'ListUsers') return send(res, 200, { Status: 'OK', User: [{ LoginName: 'alice', Type: 'PAID' }] });
    if (m[1] === 'GetUserStatus' && url.pathname.startsWith('/cbs/')) {
      if (b.LoginName !== 'alice') return send(res, 200, { Status: 'OK', ExptType: 'com.ahsay.obx.core.ex.UserNotFoundException', Message: `No such user ${String(b.LoginName)}` });
      return send(res, 200, { Status: 'OK', Data: { LoginName: 'alice', Status: 'ENABLE' } });
    }
    if (m[1] === 'GetServerRunJobStatus' && url.pathname.startsWith('/cbs/')) return send(res, 200, { Status: 'OK', Data: { Running: 0 } });
    return send(res, 200, { Status: 'Error', Message: `Unknown API ${m[1] as string}` });
  };
}

/**
 * Storware Backup & Recovery (vProtect): a session from the login, as a cookie whose name is
 * not fixed (the default), an `x-auth-token` header, or a `token` in the body sent back as a
 * bearer token.
 */
export class StorwareSim extends ProductSim {
  cookieName = 'JSESSIONID';
  sessionVia: 'cookie' | 'header' | 'body' = 'cookie';
  handler: RestHandler = (req, res) => {
    const url = pathOf(req);
    if (req.method === 'POST' && url.pathname === '/api/session/login') {
      const b = json(req);
      if (b.login !== this.username || b.password !== this.password) return send(res, 401, { message: 'Bad credentials' });
      this.logins++;
      const id = randomUUID();
      this.sessions.add(id);
      if (this.sessionVia === 'header') return send(res, 201, { message: 'logged in' }, { 'x-auth-token': id });
      if (this.sessionVia === 'body') return send(res, 200, { token: id, user: { login: b.login } });
      return send(res, 201, { message: 'logged in' }, { 'set-cookie': `${this.cookieName}=${id}; Path=/api; HttpOnly; Secure` });
    }
    const cookie = String(req.headers.cookie ?? '');
    const id =
      this.sessionVia === 'header' ? String(req.headers['x-auth-token'] ?? '')
      : this.sessionVia === 'body' ? (/^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '')
      : (new RegExp(`(?:^|;\\s*)${this.cookieName}=([^;]+)`).exec(cookie)?.[1] ?? '');
    if (!this.sessions.has(id)) return send(res, 401, { message: 'Session expired' });
    this.calls.push(req);
    if (req.method === 'POST' && url.pathname === '/api/session/logout') {
      this.logouts++;
      this.sessions.delete(id);
      return send(res, 200, {});
    }
    if (req.method === 'GET' && url.pathname === '/api/virtual-machines') return send(res, 200, [{ guid: 'vm-1', name: 'web01', hvType: 'KVM' }]);
    return send(res, 404, { message: url.pathname });
  };
}
