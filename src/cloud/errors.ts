// What a hub request can end with besides an answer: each failure is its own class with a
// code, so that a cloud application tells them apart without reading messages.

export type HubErrorCode = 'HUB_AGENT_OFFLINE' | 'HUB_TIMEOUT' | 'HUB_IN_FLIGHT_FULL' | 'HUB_CLOSED' | 'HUB_BRIDGE_ERROR' | 'HUB_REDIS_UNREACHABLE' | 'HUB_INVALID_REQUEST';

export class HubError extends Error {
  readonly code: HubErrorCode;
  constructor(code: HubErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The agent was not connected at any time before the request's time limit. */
export class AgentOfflineError extends HubError {
  constructor(readonly agentId: string, timeoutMs: number) {
    super('HUB_AGENT_OFFLINE', `agent ${agentId} was not connected within ${timeoutMs} ms; the request was not sent`);
  }
}

/** The request went out but no answer came within its time limit (it may have run). */
export class RequestTimeoutError extends HubError {
  constructor(readonly agentId: string, readonly id: string, timeoutMs: number) {
    super('HUB_TIMEOUT', `no answer from agent ${agentId} for request ${id} within ${timeoutMs} ms; it may have run (send it again with the same id to find out: it runs at most once)`);
  }
}

/** The agent already has maxInFlightPerAgent requests waiting for answers, or the hub maxInFlight. */
export class InFlightFullError extends HubError {
  constructor(
    readonly agentId: string,
    limit: number,
    readonly bound: 'maxInFlightPerAgent' | 'maxInFlight' = 'maxInFlightPerAgent',
  ) {
    super('HUB_IN_FLIGHT_FULL', bound === 'maxInFlight' ? `the hub already has ${limit} requests in flight (maxInFlight); send it again later` : `agent ${agentId} already has ${limit} requests in flight (maxInFlightPerAgent); send it again later`);
  }
}

/** The hub was closed before the request was answered. */
export class HubClosedError extends HubError {
  constructor() {
    super('HUB_CLOSED', 'the hub is closed');
  }
}

/** Redis could not be reached: when a hub given `redis` starts, or for something that needs it now. */
export class RedisUnreachableError extends HubError {
  constructor(where: string, why: string) {
    super('HUB_REDIS_UNREACHABLE', `cannot reach Redis at ${where}: ${why}`);
  }
}

/** A request the hub cannot send as given: its id or time limit is out of range. */
export class InvalidRequestError extends HubError {
  constructor(message: string) {
    super('HUB_INVALID_REQUEST', message);
  }
}

/**
 * The bridge answered the request itself, with an error of its own (the REST API was not
 * reached, or refused by the bridge's policy, ...): `status` is the HTTP status it answered,
 * `bridgeCode` its NBW_ERR_* code.
 */
export class BridgeAnswerError extends HubError {
  constructor(
    readonly status: number,
    readonly bridgeCode: string,
    /** The bridge's errorMessage. */
    readonly detail: string,
    /** The answer's headers and body as the bridge sent them (Retry-After on a 503, say). */
    readonly headers: Record<string, string> = {},
    readonly body = '',
  ) {
    super('HUB_BRIDGE_ERROR', `the bridge answered ${status} ${bridgeCode}: ${detail}`);
  }

  /** The HTTP status the bridge answered, under the name NetBackup's error bodies give it. */
  get errorCode(): number {
    return this.status;
  }
}
