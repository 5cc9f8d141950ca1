// What the bridge reports about itself. Modules call these hooks; the Prometheus exporter
// implements them, and without metrics.listen they cost nothing.

/** Link states as numbers for a gauge: 0 idle/down, 1 connecting, 2 handshaking, 3 ready. */
export const LINK_STATE_VALUE = { idle: 0, stopped: 0, connecting: 1, handshaking: 2, ready: 3 } as const;
export type LinkStateName = keyof typeof LINK_STATE_VALUE;

/** Why a connection ended; a small fixed set, so it can be a label. */
export type DisconnectReason = 'closed' | 'error' | 'heartbeat' | 'connect_timeout' | 'refused' | 'replaced' | 'stopped';

/** How a request with a known id was served without running again. */
export type DedupeKind = 'attached' | 'replayed' | 'crossed' | 'expired' | 'outcome_unknown';

export interface Telemetry {
  linkState(group: string, endpoint: string, state: LinkStateName): void;
  connected(group: string, endpoint: string): void;
  disconnected(group: string, endpoint: string, reason: DisconnectReason): void;
  refused(group: string, endpoint: string): void;
  /** A dial did not end in a ready connection, by why (see link/cause.ts). */
  dialFailed(group: string, endpoint: string, reason: string): void;
  /** A COMMAND was answered (by the REST API or by the bridge), with the backend it went to (NO_BACKEND: none). */
  answered(backend: string, method: string, status: number): void;
  /** The bridge answered an error itself. */
  bridgeError(code: string): void;
  restDuration(backend: string, method: string, seconds: number): void;
  dedupeHit(kind: DedupeKind): void;
  /** A NOTIFICATION REQUEST went out (first time or again). */
  notificationSent(group: string, object: string): void;
  notificationAcked(group: string): void;
  pollFailed(kind: string): void;
  /** A backend answered success but reported an error in the body (AhsayCBS). */
  backendError(backend: string): void;
  /** Live sessions the bridge holds with a backend (0 or 1). */
  backendSessions(backend: string, live: number): void;
  /** Credentials of the bridge's a backend echoed in an answer, replaced before it went to the cloud. */
  secretsRedacted(backend: string, count: number): void;
}

/** The backend label of answers given before a backend was chosen (refused by policy, invalid, a known id). */
export const NO_BACKEND = 'none';

const noop = () => {};

/** Telemetry that records nothing. */
export const NO_TELEMETRY: Telemetry = {
  linkState: noop,
  connected: noop,
  disconnected: noop,
  refused: noop,
  dialFailed: noop,
  answered: noop,
  bridgeError: noop,
  restDuration: noop,
  dedupeHit: noop,
  notificationSent: noop,
  notificationAcked: noop,
  pollFailed: noop,
  backendError: noop,
  backendSessions: noop,
  secretsRedacted: noop,
};

/** The metrics keys only a restart applies (here, so that a daemon without metrics never loads the metrics part). */
export const METRICS_RESTART_ONLY = ['metrics.listen'] as const;
