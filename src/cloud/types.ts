// What a hub's user gives it and gets from it.
import type { IncomingMessage } from 'node:http';
import type { TokenStore } from './tokens.js';

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
  /** How long a new connection has to send its CONNECT (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Largest message taken from an agent (default 64 MiB). */
  maxMessageBytes?: number;
}

/** What HubOptions leaves out is taken from here. */
export const HUB_DEFAULTS = { requestTimeoutMs: 120_000, maxInFlightPerAgent: 1000, connectTimeoutMs: 10_000, maxMessageBytes: 64 * 1024 * 1024 };

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
  labels: Record<string, string>;
  since: Date;
  inFlight: number;
}

/** One endpoint as NetBackup's endpoint details list it (and the bridge's cloud.endpointsFile reads). */
export interface EndpointDetails {
  url: string;
  token: string;
  groupId: string;
  priority: number;
  hostName: string;
}
