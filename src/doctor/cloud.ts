// doctor's checks of each cloud endpoint, one step at a time so the first that fails names the
// cause: the name (or the proxy's), the TCP connection (or the proxy's tunnel), TLS (trust, names,
// days left), then a real CONNECT handshake with the token, closed at once without serving
// anything. The cloud's Date header on the upgrade gives the clock skew.
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type TLSSocket } from 'node:tls';
import type { Endpoint } from '../config/endpoints.js';
import type { Config } from '../config/load.js';
import { USER_AGENT } from '../constants.js';
import { classifyDial } from '../link/cause.js';
import { openSocket } from '../link/dial.js';
import { viaProxy } from '../link/proxy.js';
import { safeUrl } from '../link/ending.js';
import { decodeFrame, encodeConnectRequest } from '../protocol/codec.js';
import { certificateFacts } from '../rest/tls-facts.js';
import { fail, ok, skip, warn, type CheckResult } from './report.js';

/** Skew past which JWTs and certificates start to misbehave. */
const SKEW_WARN_S = 30;
const SKEW_FAIL_S = 300;

function socketTo(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port });
    const timer = setTimeout(() => s.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    s.once('connect', () => (clearTimeout(timer), resolve(s)));
    s.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/** A tunnel through an HTTP proxy; rejects with the proxy's status when it refuses. */
function tunnel(proxyUrl: string, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const p = new URL(proxyUrl);
  const auth = p.username ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(p.username)}:${decodeURIComponent(p.password)}`).toString('base64')}` } : {};
  const tls = p.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : request)({ host: p.hostname, port: Number(p.port || (tls ? 443 : 80)), method: 'CONNECT', path: `${host}:${port}`, headers: { host: `${host}:${port}`, ...auth }, timeout: timeoutMs });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(Object.assign(new Error(`proxy answered ${res.statusCode}`), { proxyStatus: res.statusCode ?? 0 }));
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.once('error', reject);
    req.end();
  });
}

function tlsOver(socket: Socket, servername: string, ca: string | null, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ socket, servername, rejectUnauthorized: false, ...(ca ? { ca: [...rootCertificates, ca] } : {}) });
    const timer = setTimeout(() => t.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    t.once('secureConnect', () => (clearTimeout(timer), resolve(t)));
    t.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/** The CONNECT handshake: valid, refused, or the dial's failure; and the cloud's Date. */
function handshake(ep: Endpoint, config: Config): Promise<{ error: string | null; valid: boolean | null; date: string | null; proxyStatus: number | null }> {
  return new Promise((resolve) => {
    let proxyStatus: number | null = null;
    let date: string | null = null;
    let error: string | null = null;
    let valid: boolean | null = null;
    const ws = openSocket(ep.url, {
      ca: config.cloud.ca, connectTimeoutMs: config.cloud.connectTimeoutMs, maxMessageBytes: config.cloud.maxMessageBytes,
      perMessageDeflate: false, userAgent: USER_AGENT, proxy: config.cloud.proxy, loopbackZeroMask: false,
    }, (s) => (proxyStatus = s));
    const id = randomUUID().toUpperCase();
    const timer = setTimeout(() => ((error ??= 'NBW_ERR_CONNECT_TIMEOUT'), ws.terminate()), config.cloud.connectTimeoutMs);
    ws.on('upgrade', (res) => (date = typeof res.headers.date === 'string' ? res.headers.date : null));
    ws.on('open', () => ws.send(encodeConnectRequest(id, ep.token)));
    ws.on('message', (data) => {
      const msg = decodeFrame((data as Buffer).toString('utf8'));
      if (msg.kind !== 'connect-response' || msg.id !== id) return; // nothing else is read, let alone served
      valid = msg.valid;
      ws.close(1000, 'nbwss-bridge doctor: check only');
    });
    ws.on('error', (err) => (error ??= (err as NodeJS.ErrnoException).code ?? err.message));
    ws.on('close', () => (clearTimeout(timer), resolve({ error: valid === null ? error ?? 'closed before the CONNECT RESPONSE' : null, valid, date, proxyStatus })));
  });
}

export async function checkEndpoint(ep: Endpoint, config: Config, connect = true): Promise<CheckResult[]> {
  const target = safeUrl(ep.url);
  const url = new URL(ep.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
  const proxy = config.cloud.proxy && viaProxy(ep.url, config.cloud.proxy) ? config.cloud.proxy.url : null;
  const timeoutMs = Math.min(config.cloud.connectTimeoutMs, 15_000);
  const why = (error: string, proxyStatus: number | null = null) => classifyDial({ error, host: url.host, proxy: proxy && safeUrl(proxy), proxyStatus, caKey: 'cloud.caFile' });
  const out: CheckResult[] = [];
  const stop = (check: string, error: string, proxyStatus: number | null = null) => {
    const f = why(error, proxyStatus);
    out.push(fail(check, `${f.cause} (${f.side})`, f.hint, target));
    return out;
  };

  const named = proxy ? new URL(proxy).hostname : host;
  try {
    const a = await lookup(named);
    out.push(ok('cloud-dns', `${named} resolves to ${a.address}${proxy ? ' (the proxy; the cloud\'s name is resolved by the proxy)' : ''}`, target));
  } catch (err) {
    return stop('cloud-dns', (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND');
  }
  let socket: Socket;
  try {
    socket = proxy ? await tunnel(proxy, host, port, timeoutMs) : await socketTo(host, port, timeoutMs);
    out.push(proxy ? ok('cloud-proxy', `${safeUrl(proxy)} opened a tunnel to ${host}:${port}`, target) : ok('cloud-tcp', `${host}:${port} accepts TCP connections`, target));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { proxyStatus?: number };
    return stop(proxy ? 'cloud-proxy' : 'cloud-tcp', e.code ?? e.message, e.proxyStatus ?? null);
  }
  if (url.protocol === 'wss:') {
    try {
      const t = await tlsOver(socket, host, config.cloud.ca, timeoutMs);
      const facts = certificateFacts(t, host);
      t.destroy();
      if (facts.error) return stop('cloud-tls', facts.error);
      out.push(facts.daysLeft < 30 ? warn('cloud-tls', facts.summary, 'the endpoint\'s operator must renew its certificate soon', target) : ok('cloud-tls', facts.summary, target));
    } catch (err) {
      return stop('cloud-tls', (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  } else {
    socket.destroy();
    out.push(skip('cloud-tls', 'plain ws:// (loopback or cloud.allowInsecure): no TLS', target));
  }
  if (!connect) {
    out.push(skip('cloud-connect', 'nbwss-bridge.service is running: its own CONNECT is in its log (connected to the cloud) and /readyz; stop it to check the token here', target));
    return out;
  }
  const h = await handshake(ep, config);
  if (h.error !== null) return stop('cloud-connect', h.error, h.proxyStatus);
  if (h.valid) out.push(ok('cloud-connect', 'the CONNECT was answered valid:true (closed at once; nothing served)', target));
  else stop('cloud-connect', 'NBW_ERR_CONNECT_REFUSED');
  if (h.date !== null && !Number.isNaN(Date.parse(h.date))) {
    const skew = Math.round((Date.now() - Date.parse(h.date)) / 1000);
    const said = `this host's clock is ${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} the cloud's`;
    const fix = 'synchronise the clock (chronyc tracking; timedatectl)';
    out.push(Math.abs(skew) >= SKEW_FAIL_S ? fail('clock', said, fix, target) : Math.abs(skew) >= SKEW_WARN_S ? warn('clock', said, fix, target) : ok('clock', said, target));
  } else {
    out.push(skip('clock', 'the cloud sent no Date header to compare with', target));
  }
  return out;
}
