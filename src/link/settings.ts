// What a link is made with, what it reports, and the timing rules of its reconnects.
import type { ProxyConfig } from '../config/endpoints.js';
import type { Logger } from '../log/logger.js';
import { WarnLimiter } from '../log/limiter.js';
import { NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import type { Delivered } from '../protocol/read.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../protocol/depth.js';
import type { ConnSettings } from './connection.js';
import { CLOSE, type SentFrame } from './ending.js';
import type { EscalationOptions } from './escalation.js';

/** A connection counts as stable, and the reconnect backoff starts over, once it has been ready this long. */
export const STABLE_MS = 30_000;

/**
 * Extra backoff steps after the cloud closed with a code that says "not now": 1013 (try again
 * later) doubles the wait twice more, 1008 (policy violation) and the application codes 4000–4999
 * three times more, since the cloud sent this bridge away on purpose.
 */
export function closeWeight(peerCode: number | null): number {
  if (peerCode === CLOSE.tryAgainLater) return 3;
  if (peerCode === CLOSE.policy || (peerCode !== null && peerCode >= 4000 && peerCode <= 4999)) return 4;
  return 1;
}

export interface LinkEndpoint {
  url: string;
  token: string;
}

export interface LinkOptions {
  /** The group's name, for logs and metrics. */
  group?: string;
  /** The group's endpoints, best first. */
  endpoints: readonly LinkEndpoint[];
  /** Extra trusted CA (PEM) for wss://, added to the system roots. */
  ca: string | null;
  /** Time allowed to open the socket, and again for the CONNECT RESPONSE. */
  connectTimeoutMs: number;
  heartbeatMs: number;
  /** Pings in a row that may go without a pong (NetBackup's keepAlive.maxPongMissAllowed); 0 by default. */
  maxMissedPongs?: number;
  reconnect: { minMs: number; maxMs: number };
  /** With failBack: how often a connection to a lower-priority endpoint tries the better ones. */
  periodMs?: number;
  /** Move back to a better endpoint while connected (off: as NetBackup, only after a loss). */
  failBack?: boolean;
  /** Frames above this many bytes are not served (answered 413 when their id can be read). */
  maxMessageBytes: number;
  /** Deepest JSON nesting accepted from the cloud (128 by default). */
  maxJsonDepth?: number;
  perMessageDeflate: boolean;
  userAgent: string;
  proxy?: ProxyConfig | null;
  /** All-zero masks to a loopback endpoint (off: random masks, as RFC 6455 asks). */
  loopbackZeroMask?: boolean;
  /** When failed dials are logged at warn and at error (see escalation.ts). */
  escalation?: EscalationOptions;
  /** How long a connection must stay ready before the backoff starts over (STABLE_MS). */
  stableMs?: number;
  log: Logger;
  telemetry?: Telemetry;
  /** Requests that arrived on a connection and are not answered yet. */
  pendingOn?: (connection: number) => number;
  /** Longest a replaced connection waits for its pending answers. */
  drainTimeoutMs?: number;
}

export type LinkState = 'idle' | 'connecting' | 'ready' | 'stopped';

export interface LinkEvents {
  /** A connection's CONNECT was answered `valid: true`; it is now the one commands flow on. */
  ready: [info: { connection: number }];
  /** A ready connection is gone. */
  down: [info: { connection: number; reason: string }];
  /** A message from the cloud on a ready connection. */
  inbound: [message: Delivered, connection: number];
  /** A connection that had been ready (current or replaced) is closed; what it had in flight is lost. */
  closed: [info: { connection: number; peerCode: number | null; largest: SentFrame | null }];
}

/** What every connection of a link shares, made from the link's options. */
export function connSettings(opts: LinkOptions): ConnSettings {
  return {
    group: opts.group ?? 'default',
    ca: opts.ca,
    connectTimeoutMs: opts.connectTimeoutMs,
    heartbeatMs: opts.heartbeatMs,
    maxMissedPongs: opts.maxMissedPongs ?? 0,
    maxMessageBytes: opts.maxMessageBytes,
    maxJsonDepth: opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
    perMessageDeflate: opts.perMessageDeflate,
    userAgent: opts.userAgent,
    proxy: opts.proxy ?? null,
    loopbackZeroMask: opts.loopbackZeroMask ?? false,
    log: opts.log,
    warn: new WarnLimiter(opts.log),
    noted: new Set(),
    telemetry: opts.telemetry ?? NO_TELEMETRY,
  };
}
