// Opening the socket to a cloud endpoint: ws options for the timeout, frame size, masking, CA
// and proxy. What happens on it is the Connection's.
import { rootCertificates } from 'node:tls';
import type WebSocket from 'ws';
import { requireWs } from '../packages.js';
import { isLoopbackHost } from '../config/files.js';
import type { ProxyConfig } from '../config/endpoints.js';
import { proxyAgent } from './proxy.js';

const WebSocketClass = requireWs();

/**
 * Frames from a client are masked with a random key (RFC 6455 §5.3), so that an intermediary
 * reading clear text (a TLS-terminating proxy in front of the cloud, say) cannot be fooled by
 * payloads the cloud chose. Only to a loopback endpoint, and only where the operator opts in,
 * an all-zero mask (which ws recognizes and skips) saves an XOR pass over every answer.
 */
const zeroMask = (mask: Buffer) => {
  mask.fill(0);
};

/** ws options for the masking key: random (ws's default) unless zero masks are allowed here. */
function maskFor(url: string, loopbackZeroMask: boolean): { generateMask?: (mask: Buffer) => void } {
  return loopbackZeroMask && isLoopbackHost(new URL(url).hostname) ? { generateMask: zeroMask } : {};
}

/** What the socket is opened with. */
export interface DialSettings {
  ca: string | null;
  connectTimeoutMs: number;
  maxMessageBytes: number;
  perMessageDeflate: boolean;
  userAgent: string;
  proxy: ProxyConfig | null;
  /** Send frames with an all-zero mask to a loopback endpoint (an operator's opt-in; see maskFor). */
  loopbackZeroMask: boolean;
}

/**
 * Dials `url`; the socket reports through its events. `onProxy` hears the status the proxy
 * answered the CONNECT with, when the dial goes through one.
 */
export function openSocket(url: string, settings: DialSettings, onProxy?: (status: number) => void): WebSocket {
  const agent = proxyAgent(url, settings.proxy);
  if (agent && onProxy) agent.on('proxyConnect', (res: { statusCode?: number }) => onProxy(res.statusCode ?? 0));
  return new WebSocketClass(url, {
    handshakeTimeout: settings.connectTimeoutMs,
    perMessageDeflate: settings.perMessageDeflate,
    // Frames a little over the limit are still read so they can be answered 413; beyond this the socket closes (1009).
    maxPayload: settings.maxMessageBytes + Math.max(settings.maxMessageBytes, 1024 * 1024),
    followRedirects: false,
    headers: { 'user-agent': settings.userAgent },
    ...maskFor(url, settings.loopbackZeroMask),
    ...(settings.ca ? { ca: [...rootCertificates, settings.ca] } : {}),
    ...(agent ? { agent } : {}),
  });
}
