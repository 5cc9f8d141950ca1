// What a hub node shares with the others when several serve one application (see redis.ts):
// where each agent is, requests and answers passed between nodes, and notifications put on
// a shared stream that exactly one application worker takes. A hub alone has no cluster.
import type { TokenStore } from './tokens.js';
import type { Notification } from './types.js';

export interface ClusterEvents {
  /** A request another node sends through this one to an agent connected here. */
  send(agentId: string, id: string, frame: string): void;
  /** The answer to a request made on this node, taken by another. */
  answer(agentId: string, id: string, payload: object): void;
  /** An agent came online on `node` (this one's own connections included). */
  online(agentId: string, node: string): void;
  /** A worker handled a notification of an agent connected here: acknowledge it. */
  ack(agentId: string, id: string): void;
  /** Another node asks that this node's connection of the agent end (its token was revoked). */
  end(agentId: string, why: string): void;
  /** A notification off the shared stream, for this node's handlers; it is done when this resolves. */
  handle(n: Notification): Promise<void>;
}

/** An agent connected to this node. */
export interface AgentRecord {
  agentId: string;
  labels: Record<string, string>;
  since: Date;
}

/** An agent as the cluster lists it. */
export interface ClusterAgent {
  agentId: string;
  node: string;
  labels: Record<string, string>;
  since: Date;
}

/** What a notification an agent sent needs now: acknowledged at once (handled before), or nothing yet. */
export type NotificationFate = 'handled' | 'queued';

export interface Cluster {
  /** This node's id (unique per process). */
  readonly node: string;
  start(on: ClusterEvents): Promise<void>;
  /** An agent connected here (it is taken from whichever node held it). */
  online(agent: AgentRecord): Promise<void>;
  /** An agent's connection here ended (it stays where it is when another node holds it now). */
  offline(agentId: string): Promise<void>;
  /** The agents connected here are still here (each heartbeat); any the cluster lost are put back. */
  refresh(agents: AgentRecord[]): Promise<void>;
  /** Sends a request through the node holding the agent: that node, or null when none holds it now. */
  route(agentId: string, id: string, frame: string, deadline: number): Promise<string | null>;
  /** Sends a request to a node known to hold the agent now. */
  routeTo(node: string, agentId: string, id: string, frame: string, deadline: number): Promise<void>;
  /** An answer to a request this node did not make: back to the node that did; false when none is known. */
  answered(agentId: string, id: string, payload: object): boolean;
  /** Every agent connected to any node. */
  agents(): Promise<ClusterAgent[]>;
  /** A notification an agent sent: put on the stream once, or known handled. */
  notified(agentId: string, id: string, payload: unknown): Promise<NotificationFate>;
  /** This node takes its share of the notification stream from now on, whenever `wanted` says it has a handler. */
  consume(wanted: () => boolean): void;
  /** Ends the agent's connection on whichever other node holds it. */
  end(agentId: string, why: string): Promise<void>;
  /** The agents' tokens, shared by every node. */
  tokens(): TokenStore;
  close(): Promise<void>;
}
