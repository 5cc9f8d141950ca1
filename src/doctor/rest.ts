// doctor's checks of each REST API: reachable, its certificate trusted and naming the expected
// host (rest.servername), NetBackup's GET /netbackup/ping, and each signing backend's login and
// logout.
import { Router } from '../backends/router.js';
import type { BackendConfig } from '../config/backends.js';
import type { Config } from '../config/load.js';
import { silentLogger } from '../log/logger.js';
import { RestClient } from '../rest/client.js';
import { probeOrigin } from '../rest/probe.js';
import { certificateNames, daysLeft } from '../rest/tls-facts.js';
import { fail, ok, skip, warn, type CheckResult } from './report.js';

const TIMEOUT_MS = 10_000;

/** The fix for a REST API that cannot be reached, by the socket's code. */
export function fixFor(code: string | null, b: BackendConfig, shown: string[], index = 0): string {
  const key = b.name === 'netbackup' && b.mount === '/' ? 'rest' : `backends[${index}]`;
  if (code === 'ECONNREFUSED') return `nothing listens at ${new URL(b.baseUrl).host}: is the REST API up (NetBackup: its web service, nbwmc)? is ${key}.baseUrl's port right (NetBackup: 1556)?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${key}.baseUrl's host does not resolve; use the name the server answers to, or localhost`;
  if (code === 'ETIMEDOUT') return 'a firewall drops the connection, or the host is down';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `set ${key === 'rest' ? 'rest.servername' : `${key}.servername`} to a name the certificate holds: ${shown.join(', ') || '(none shown)'}`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'the REST API\'s certificate is outside its validity period: renew it, or check this host\'s clock';
  if (code && /CERT|SELF_SIGNED|UNABLE_TO/.test(code)) return `trust its CA with ${key}.caFile (NetBackup: nbwss-bridge service install fetches it from /netbackup/security/cacert)`;
  return 'see the error';
}

async function checkBackend(b: BackendConfig, config: Config): Promise<CheckResult[]> {
  const target = `${b.name} ${b.baseUrl}`;
  const https = b.baseUrl.startsWith('https:');
  const check = https ? 'rest-tls' : 'rest-tcp';
  const probe = await probeOrigin(b.baseUrl, { ca: b.ca, servername: b.servername, timeoutMs: TIMEOUT_MS });
  const shown = probe.certificate ? certificateNames(probe.certificate) : [];
  if (probe.error !== null) return [fail(check, probe.error, fixFor(probe.code, b, shown, config.backends.indexOf(b)), target)];
  const out: CheckResult[] = [];
  if (https && probe.certificate) {
    const days = daysLeft(probe.certificate);
    const said = `trusted certificate for ${shown.join(', ')}${b.servername ? ` (checked as ${b.servername})` : ''}, ${days} days left`;
    out.push(days < 30 ? warn(check, said, 'renew the REST API\'s certificate soon', target) : ok(check, said, target));
  } else {
    out.push(ok(check, `${new URL(b.baseUrl).host} accepts connections`, target));
  }
  if (b.name === 'netbackup' && b.mount === '/') {
    const client = new RestClient({ baseUrl: b.baseUrl, ca: b.ca, servername: b.servername, timeoutMs: TIMEOUT_MS, maxResponseBytes: 1 << 20, connections: 1 });
    try {
      const res = await client.call({ method: 'GET', path: '/netbackup/ping', headers: { accept: '*/*' } });
      out.push(res.status === 200 ? ok('rest-ping', 'GET /netbackup/ping answered 200', target) : warn('rest-ping', `GET /netbackup/ping answered ${res.status}`, 'is this NetBackup\'s REST API (port 1556)?', target));
    } catch (err) {
      out.push(fail('rest-ping', `GET /netbackup/ping failed: ${(err as Error).message}`, 'see the REST API\'s logs', target));
    } finally {
      await client.destroy();
    }
  }
  const router = new Router([b], { connections: 1, login: config.login }, silentLogger());
  try {
    const how = await (router.backends[0] as NonNullable<(typeof router.backends)[0]>).checkLogin();
    out.push(how === 'passthrough'
      ? skip('backend-login', 'auth passthrough: each call carries the cloud\'s own credentials', target)
      : ok('backend-login', how === 'session' ? `auth ${b.auth.type}: logged in and out` : `auth ${b.auth.type}: static credentials, no session to open`, target));
  } catch (err) {
    out.push(fail('backend-login', (err as Error).message, `check ${b.name === 'netbackup' ? 'rest' : `the backend ${b.name}`}'s auth settings and secret files`, target));
  } finally {
    await router.close();
  }
  return out;
}

export async function checkRest(config: Config): Promise<CheckResult[]> {
  return (await Promise.all(config.backends.map((b) => checkBackend(b, config)))).flat();
}
