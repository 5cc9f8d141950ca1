// The cloud endpoints to dial, from cloud.url, cloud.endpoints and the endpoints file, and
// the proxy to dial them through.
import { checkEndpoint, groupName, type RawConfig, type RawEndpoint } from './schema.js';
import { expandPath, isLoopbackHost, jsonErrorWhere, readSecret, readText, secretPath, type Env } from './files.js';

export interface Endpoint {
  readonly url: string;
  readonly token: string;
  /** Where the token came from, for reload and permission checks. */
  readonly tokenFile: string | null;
  readonly group: string;
  /** Lower is preferred. */
  readonly priority: number;
}

export interface ProxyConfig {
  /** The proxy URL; may carry credentials (never logged, see redactUrl). */
  readonly url: string;
  /** True when it came from HTTPS_PROXY / https_proxy, where NO_PROXY applies. */
  readonly fromEnvironment: boolean;
  readonly noProxy: readonly string[];
}

export const DEFAULT_GROUP = 'default';

/** The URL without query or credentials, for logs and labels (a cloud may put a secret in the query). */
export function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * A URL as it may be printed (stderr, check-config, logs): user and password replaced by
 * `***`, a query or fragment (where a cloud may put a secret) by `[redacted]`. A URL without a
 * host (`socks5:user:pw@proxy`) shows only its scheme.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.host === '') return `${u.protocol}[redacted]`;
    const userinfo = u.username || u.password ? '***@' : '';
    return `${u.protocol}//${userinfo}${u.host}${u.pathname}${u.search ? '?[redacted]' : ''}${u.hash ? '#[redacted]' : ''}`;
  } catch {
    return '[unparsable URL]';
  }
}

/** True for a string a URL parser reads with credentials, a query or a fragment, or as a URL without a host. */
export function mayHideSecrets(value: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return false;
  try {
    const u = new URL(value);
    return u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '' || (u.host === '' && value.includes('@'));
  } catch {
    return false;
  }
}

/** The entries of an endpoint details document: a list, {"endpoints": [...]}, or one endpoint. */
function endpointList(parsed: unknown): unknown[] | null {
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed !== 'object' || parsed === null) return null;
  const o = parsed as Record<string, unknown>;
  if (Array.isArray(o.endpoints)) return o.endpoints;
  return 'url' in o ? [o] : null;
}

function fromFile(path: string, env: Env, problems: string[]): RawEndpoint[] {
  // It holds tokens: read as every secret file is (systemd's credential of it, when passed one).
  const file = expandPath('cloud.endpointsFile', path, env, problems);
  const text = file === null ? null : readText('cloud.endpointsFile', secretPath(file, env).file, problems);
  if (text === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push(`cloud.endpointsFile: ${path} is not valid JSON (${jsonErrorWhere(err)})`);
    return [];
  }
  const list = endpointList(parsed);
  if (list === null) {
    problems.push(`cloud.endpointsFile: ${path} must hold a list of endpoints, {"endpoints": [...]} or one endpoint object with a url`);
    return [];
  }
  const ok: RawEndpoint[] = [];
  list.forEach((e, i) => {
    try {
      checkEndpoint(e, `[${i}]`);
      ok.push(e as RawEndpoint);
    } catch (err) {
      problems.push(`cloud.endpointsFile: ${(err as Error).message}`);
    }
  });
  return ok;
}

/**
 * Every endpoint from every source, with tokens read. `cloud.url` (with cloud.token or
 * cloud.tokenFile) is one endpoint in group "default" with priority 0.
 */
export function resolveEndpoints(raw: RawConfig, cloudToken: string | null, env: Env, problems: string[], warnings: string[] = []): Endpoint[] {
  const out: Endpoint[] = [];
  if (raw.cloud.url !== null && cloudToken !== null) {
    out.push({ url: raw.cloud.url, token: cloudToken, tokenFile: raw.cloud.tokenFile, group: DEFAULT_GROUP, priority: 0 });
  }
  const listed: [string, RawEndpoint][] = raw.cloud.endpoints.map((e, i) => [`cloud.endpoints[${i}]`, e]);
  if (raw.cloud.endpointsFile !== null) {
    for (const [i, e] of fromFile(raw.cloud.endpointsFile, env, problems).entries()) listed.push([`cloud.endpointsFile[${i}]`, e]);
  }
  for (const [key, e] of listed) {
    const token = e.token ?? (e.tokenFile ? readSecret(`${key}.tokenFile`, e.tokenFile, env, problems) : null);
    if (token === null) continue;
    const host = new URL(e.url).hostname;
    if (e.hostName !== undefined && !sameHost(e.hostName, host)) {
      warnings.push(`${key}: hostName ${JSON.stringify(e.hostName.slice(0, 255))} is not the host of its url (${host}); the bridge dials the url and checks the certificate against ${host}`);
    }
    const group = groupName(e.groupId ?? e.group) ?? DEFAULT_GROUP;
    out.push({ url: e.url, token, tokenFile: e.tokenFile ?? null, group, priority: e.priority ?? 0 });
  }
  const seen = new Set<string>();
  for (const e of out) {
    const u = new URL(e.url);
    if (u.protocol === 'ws:' && !isLoopbackHost(u.hostname) && !raw.cloud.allowInsecure) {
      problems.push(`cloud.url: plain ws:// to ${u.hostname} would send tokens and JWTs in clear text; use wss:// or set cloud.allowInsecure`);
    }
    const k = `${e.group}\n${e.url}`;
    if (seen.has(k)) problems.push(`cloud.endpoints: ${u.host}${u.pathname} is listed twice in group ${e.group}`);
    seen.add(k);
  }
  return out.sort((a, b) => a.group.localeCompare(b.group) || a.priority - b.priority);
}

/** The proxy for the cloud connection: cloud.proxy, else HTTPS_PROXY / https_proxy with NO_PROXY. */
export function resolveProxy(raw: RawConfig, env: Env, problems: string[]): ProxyConfig | null {
  if (raw.cloud.proxy !== null) return { url: raw.cloud.proxy, fromEnvironment: false, noProxy: [] };
  const url = env.HTTPS_PROXY || env.https_proxy;
  if (!url) return null;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http or https');
  } catch {
    problems.push(`HTTPS_PROXY: not a proxy URL: ${redactUrl(url)}`);
    return null;
  }
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return { url, fromEnvironment: true, noProxy };
}

/** A host name as a URL parser reads it (IDN, IPv4 and IPv6 forms normalised, no port), or null. */
function hostOf(name: string): string | null {
  for (const candidate of [name, `[${name}]`]) {
    try {
      return new URL(`wss://${candidate}/`).hostname;
    } catch {
      // not a host in this form
    }
  }
  return null;
}

/** True when an endpoint's hostName names the host of its URL (case, a trailing dot and address forms aside). */
export function sameHost(hostName: string, urlHost: string): boolean {
  const strip = (h: string) => h.replace(/\.$/, '');
  const named = hostOf(hostName.trim());
  return named !== null && strip(named) === strip(urlHost);
}

/** The endpoints of each group, best first. */
export function groupEndpoints(endpoints: readonly Endpoint[]): Map<string, { url: string; token: string }[]> {
  const groups = new Map<string, { url: string; token: string }[]>();
  for (const e of [...endpoints].sort((a, b) => a.priority - b.priority)) {
    groups.set(e.group, [...(groups.get(e.group) ?? []), { url: e.url, token: e.token }]);
  }
  return groups;
}
