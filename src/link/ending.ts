// How connections end: the close codes the bridge sends or reacts to, what a closed connection
// reports, and the reasons counted in the disconnect metric.
import type { DisconnectReason } from '../metrics/telemetry.js';
import type { DialFailure } from './cause.js';

/** Close codes the bridge sends or reacts to. */
export const CLOSE = { normal: 1000, goingAway: 1001, abnormal: 1006, policy: 1008, tooBig: 1009, internal: 1011, tryAgainLater: 1013 } as const;

/** The largest frame sent on a connection, with what the sender tagged it with. */
export interface SentFrame {
  readonly bytes: number;
  readonly tag: unknown;
}

/** How a connection ended. */
export interface ClosedInfo {
  /** Commands had been flowing on it (its CONNECT was answered valid:true). */
  wasReady: boolean;
  /** Why, for logs: the socket error, or "closed <code> <reason>". */
  reason: string;
  /** The close code the cloud sent, or null when the bridge ended it or the socket just broke (1006). */
  peerCode: number | null;
  /** The largest tagged frame sent on it, if any. */
  largest: SentFrame | null;
  /** Why it never became ready (only when wasReady is false). */
  failure?: DialFailure;
}

export { safeUrl } from '../config/endpoints.js';

export const REASONS: Record<string, DisconnectReason> = {
  NBW_ERR_HEARTBEAT_TIMEOUT: 'heartbeat',
  NBW_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  NBW_ERR_CONNECT_REFUSED: 'refused',
};
