// What a hub's user gives it and gets from it.
import type { IncomingMessage } from 'node:http';
import type { Registry } from 'prom-client';
import type { TokenStore } from './tokens.js';

export type { EndpointDetails } from './tokens.js';

/** The logger a hub writes to: pino's, or anything with its four methods. */
export interface HubLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => {};
/** The logger of a hub given none. */
export const SILENT: HubLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Several hub nodes sharing one application through Redis (see redis.ts). */
export interface RedisOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Put before every key and channel name (default "nbwss:"). */
  prefix?: string;
  /** The notification stream's consumer group: the application's workers (default "hub"). */
  group?: string;
  /** A notification a worker took and has not finished after this long goes to another (default 30 000 ms). */
  claimIdleMs?: number;
  /** How long a handled notification's id is remembered, so that a resend reaches no one (default one day). */
  handledWindowMs?: number;
  /** The stream is trimmed (approximately) to this many notifications not yet handled (default 100 000). */
  streamMaxLen?: number;
}

export interface AgentIdentity {
  agentId: string;
  labels?: Record<string, string>;
}

/** Who a CONNECT's token names, or null to refuse it. */
export type Authenticate = (token: string, request: IncomingMessage) => AgentIdentity | null | Promise<AgentIdentity | null>;

export interface HubOptions {
  /** Who a CONNECT's token names; with `tokens` alone, the tokens issueAgent gave are checked. */
  authenticate?: Authenticate;
  /** Where issued tokens are kept, hashed: a store of the application's, or a JSON file's path. */
  tokens?: TokenStore | string;
  /** Path agents dial (any path when left out). */
  path?: string;
  /** A request's time limit unless it names its own (default 120 000 ms). */
  requestTimeoutMs?: number;
  /** Requests waiting for an answer per agent (default 1000). */
  maxInFlightPerAgent?: number;
  /** Requests waiting for an answer in all, whichever agents they are for (default 100 000). */
  maxInFlight?: number;
  /** How long a new connection has to send its CONNECT (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Largest message taken from an agent (default 64 MiB). */
  maxMessageBytes?: number;
  /** Each connection is pinged this often, and dropped when the previous ping went unanswered (default 30 000 ms). */
  heartbeatMs?: number;
  /** Connections that have not yet proven themselves with a CONNECT; more are answered 503 (default 1000). */
  maxUnauthenticated?: number;
  /** Where the hub logs (pino's logger, say); nothing is logged when left out. */
  logger?: HubLogger;
  /** A prom-client registry to register the hub's metrics (nbwss_hub_*) in. */
  metrics?: Registry;
  /** Share the application with other hub nodes through Redis: a URL, or the options. */
  redis?: string | RedisOptions;
}

/** What HubOptions leaves out is taken from here. */
export const HUB_DEFAULTS = { requestTimeoutMs: 120_000, maxInFlightPerAgent: 1000, maxInFlight: 100_000, connectTimeoutMs: 10_000, maxMessageBytes: 64 * 1024 * 1024, heartbeatMs: 30_000, maxUnauthenticated: 1000 };

export interface ListenOptions extends HubOptions {
  host?: string;
  port?: number;
  /** Serve wss:// with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface HubRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  /** The request body: a string as it is, anything else as JSON. */
  body?: unknown;
  timeoutMs?: number;
  /** The COMMAND REQUEST's id (a UUID when left out): the same id never runs twice on an agent. */
  id?: string;
}

export interface HubResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  /** A Buffer when the agent sent the body as base64, else the text. */
  body: string | Buffer;
  json<T = unknown>(): T;
}

export interface Notification {
  agentId: string;
  /** The NOTIFICATION REQUEST's id. */
  id: string;
  /** Its payload: one entry per object type, each with its records. */
  notifications: { notificationType: string; object: string; data: Record<string, unknown>[] }[];
}

export interface AgentInfo {
  agentId: string;
  /** The hub node holding it (with Redis; this node's id otherwise). */
  node?: string;
  labels: Record<string, string>;
  since: Date;
  inFlight: number;
}
