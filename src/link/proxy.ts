// Dialling the cloud through an HTTP CONNECT proxy: which endpoints use it, and the agent.
import type { Agent } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { requireHttpsProxyAgent } from '../packages.js';
import type { ProxyConfig } from '../config/endpoints.js';

/** True when `host` is an IP address inside the CIDR range `entry` (10.0.0.0/8, fd00::/8). */
function inRange(host: string, entry: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  const family = isIP(host);
  if (!m || family === 0 || isIP(m[1] as string) !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  try {
    list.addSubnet(m[1] as string, Number(m[2]), type);
  } catch {
    return false; // a prefix longer than the address: not a range
  }
  return list.check(host, type);
}

/** True when NO_PROXY lists the host: an exact name, a domain suffix (".corp" or "corp"), "*", host:port, or a CIDR range holding its address. */
export function bypassesProxy(target: URL, noProxy: readonly string[]): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (target.protocol === 'wss:' || target.protocol === 'https:' ? '443' : '80');
  return noProxy.some((entry) => {
    if (entry === '*') return true;
    if (entry.includes('/')) return inRange(host, entry);
    // host, host:port, [v6], [v6]:port; a bare IPv6 address has several colons and no port.
    const m = entry.split(':').length > 2 && !entry.startsWith('[') ? [entry, entry, undefined] : /^(.*?)(?::(\d+))?$/.exec(entry);
    const name = (m?.[1] ?? '').replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (m?.[2] && m[2] !== port) return false;
    return name !== '' && (host === name || host.endsWith(`.${name}`));
  });
}

/** True when `url` is dialled through the proxy. */
export function viaProxy(url: string, proxy: ProxyConfig | null): boolean {
  return proxy !== null && !(proxy.fromEnvironment && bypassesProxy(new URL(url), proxy.noProxy));
}

/** The agent to dial `url` with, or undefined to dial directly (the proxy agent's package is loaded only then). */
export function proxyAgent(url: string, proxy: ProxyConfig | null): Agent | undefined {
  if (proxy === null || !viaProxy(url, proxy)) return undefined;
  const HttpsProxyAgent = requireHttpsProxyAgent();
  return new HttpsProxyAgent(proxy.url) as unknown as Agent;
}
