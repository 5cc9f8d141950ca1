// The cloud application's end of NBWSS: agents (bridges, or NetBackup's own service) dial in,
// prove themselves with a CONNECT, and are sent COMMAND REQUESTs; their answers come back by
// id. A request whose agent drops is sent again, under the same id, whenever the agent is
// back, until answered or timed out: the agent runs an id at most once, so the request runs at
// most once end to end. NOTIFICATION REQUESTs go to the application's handlers and are
// acknowledged only once those have resolved. With `redis`, several hub nodes share the
// agents, the requests and the notifications (redis.ts).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeEnvelope } from '../protocol/encode.js';
import { answerOf } from './answer.js';
import type { Cluster, ClusterEvents } from './cluster.js';
import { Endpoint, listening, REFUSED, Session, type EndpointEvents } from './endpoint.js';
import { BridgeAnswerError, HubClosedError } from './errors.js';
import { NetBackupSession, type NetBackupCredentials, type NetBackupOptions } from './netbackup.js';
import { Notifications, type NotificationHandler } from './notify.js';
import { RedisCluster } from './redis.js';
import { Orphans } from './orphans.js';
import { invalidRequest, Outstanding, type Pending } from './requests.js';
import { Sessions } from './sessions.js';
import { hubTelemetry, NO_TELEMETRY, type HubTelemetry } from './telemetry.js';
import { FileTokenStore, issue, verifyToken, type TokenStore } from './tokens.js';
import { HUB_DEFAULTS, SILENT, type AgentIdentity, type AgentInfo, type Authenticate, type EndpointDetails, type HubLogger, type HubOptions, type HubRequest, type HubResponse, type ListenOptions, type Notification } from './types.js';

export type { AgentIdentity, AgentInfo, Authenticate, EndpointDetails, HubLogger, HubOptions, HubRequest, HubResponse, ListenOptions, Notification, RedisOptions } from './types.js';

const record = (s: Session) => ({ agentId: s.agentId, labels: { ...s.identity.labels }, since: s.since });

export class Hub extends EventEmitter {
  readonly #opts: typeof HUB_DEFAULTS & { authenticate: Authenticate; path: string | undefined };
  readonly #tokens: TokenStore | null;
  readonly #server: Server;
  readonly #owned: boolean;
  readonly #log: HubLogger;
  readonly #cluster: Cluster | null;
  readonly #ready: Promise<void>;
  readonly #sessions: Sessions;
  readonly #requests: Outstanding;
  readonly #notes: Notifications;
  readonly #orphans = new Orphans();
  readonly #metrics: HubTelemetry;
  readonly #endpoint: Endpoint;
  #closed = false;

  private constructor(server: Server, owned: boolean, opts: HubOptions) {
    super();
    const { logger, metrics, redis, tokens: given, ...rest } = opts;
    this.#opts = { ...HUB_DEFAULTS, ...rest, authenticate: opts.authenticate ?? ((t) => this.#byToken(t)), path: opts.path };
    this.#log = logger ?? SILENT;
    this.#cluster = redis ? new RedisCluster(typeof redis === 'string' ? { url: redis } : redis, this.#opts.heartbeatMs, this.#log) : null;
    this.#tokens = typeof given === 'string' ? new FileTokenStore(given) : (given ?? this.#cluster?.tokens() ?? null);
    if (!opts.authenticate && !this.#tokens) throw new TypeError('a hub needs authenticate, tokens or redis (where issued tokens are kept)');
    this.#server = server;
    this.#owned = owned;
    this.#metrics = metrics ? hubTelemetry(metrics, { agents: () => this.#sessions.size, inFlight: () => this.#requests.size, unproven: () => this.#endpoint.unproven }) : NO_TELEMETRY;
    this.#requests = new Outstanding(this.#opts.maxInFlightPerAgent, this.#opts.maxInFlight, (p) => this.#timedOut(p));
    this.#sessions = new Sessions(this.#requests, this.#opts.heartbeatMs);
    this.#ready = this.#cluster ? this.#cluster.start(this.#clusterEvents()) : Promise.resolve();
    this.#ready.catch(this.#warn('could not join the other hub nodes')); // and the caller hears of it from listen() or ready()
    const first = () => void this.#ready.then(() => this.#cluster?.consume(() => this.#notes.size > 0)).catch(this.#warn('not taking notifications off the stream'));
    this.#notes = new Notifications({ log: this.#log, metrics: this.#metrics, cluster: this.#cluster, first, failed: (e) => this.emit('notification-error', e) });
    this.#endpoint = new Endpoint(server, { ...this.#opts, owned }, this.#endpointEvents());
  }

  /** Starts a hub on its own HTTP (or HTTPS) server; with `redis`, once it has joined the others. */
  static async listen(opts: ListenOptions): Promise<Hub> {
    const hub = new Hub(await listening(opts), true, opts);
    try {
      await hub.ready();
    } catch (err) {
      await hub.close();
      throw err;
    }
    return hub;
  }

  /** Mounts a hub on an existing server: it takes upgrades to `path`, and leaves everything else alone. */
  static attach(opts: HubOptions & { server: Server }): Hub {
    return new Hub(opts.server, false, opts);
  }

  /** Resolves once the hub has joined the other nodes (at once without `redis`); rejects when Redis cannot be reached. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The ws:// or wss:// URL agents dial. */
  get url(): string {
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${'cert' in this.#server ? 'wss' : 'ws'}://${host}:${a.port}${this.#opts.path ?? '/'}`;
  }

  /** This hub node's id (the one `AgentInfo.node` names). */
  get node(): string {
    return this.#cluster?.node ?? 'local';
  }

  /** Registers a handler; a 'notification' handler may return a promise, and the agent's notification is acknowledged once every handler's has resolved. */
  override on(event: string | symbol, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (event === 'notification') this.#notes.add(listener as NotificationHandler);
    else super.on(event, listener);
    return this;
  }

  /** Removes a handler; a 'notification' handler removed takes no more (with Redis, a node with none leaves the stream to the others). */
  override off(event: string | symbol, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (event === 'notification') this.#notes.remove(listener as NotificationHandler);
    else super.off(event, listener);
    return this;
  }

  /** The agents connected to this node. */
  agents(): AgentInfo[] {
    return this.#sessions.all().map((s) => ({ ...record(s), node: this.node, inFlight: this.#requests.count(s.agentId) }));
  }

  /** The agents connected to any node (this node's alone without `redis`). */
  async listAgents(): Promise<AgentInfo[]> {
    if (!this.#cluster) return this.agents();
    await this.#ready;
    return (await this.#cluster.agents()).map((a) => ({ ...a, inFlight: this.#requests.count(a.agentId) }));
  }

  /** Notifications as an async iterable: each is acknowledged once the loop body that took it has finished; at most `max` wait for the loop. */
  notifications(max = 1000): AsyncIterable<Notification> {
    return this.#notes.loop(max);
  }

  /** NetBackup on `agentId`: logged in with `creds`, the token and media type on every call, a new login on a 401. */
  netbackup(agentId: string, creds: NetBackupCredentials, opts?: NetBackupOptions): NetBackupSession {
    return new NetBackupSession((req) => this.request(agentId, req), creds, opts);
  }

  /** A fresh token for `agentId` (replacing any earlier one), kept hashed in `tokens`: its endpoint details, for NetBackup or the bridge. */
  async issueAgent(agent: { agentId: string; group?: string; priority?: number }): Promise<EndpointDetails> {
    return issue(this.#store(), this.url, agent);
  }

  /** Revokes an agent's token and drops its connection, on whichever node holds it; false when it had none. */
  async revokeAgent(agentId: string): Promise<boolean> {
    const had = await this.#store().delete(agentId);
    this.#sessions.get(agentId)?.end('token revoked', 1008);
    await this.#cluster?.end(agentId, 'token revoked');
    return had;
  }

  #store(): TokenStore {
    return this.#tokens ?? (() => { throw new TypeError('this hub has no token store: give it the tokens option'); })();
  }

  #byToken(token: string): Promise<AgentIdentity | null> {
    return verifyToken(this.#store(), token).then((agentId) => (agentId === null ? null : { agentId }));
  }

  /** Drops an agent's connection at once (as a broken one); false when it is not connected here. Its requests in flight wait for it to come back. */
  disconnect(agentId: string): boolean {
    const s = this.#sessions.get(agentId);
    s?.end('disconnected by the application');
    return s !== undefined;
  }

  /** Sends a COMMAND REQUEST to an agent (now, or when it connects) and resolves with its answer. */
  request(agentId: string, req: HubRequest): Promise<HubResponse> {
    if (this.#closed) return Promise.reject(new HubClosedError());
    const invalid = invalidRequest(req);
    if (invalid) return Promise.reject(invalid);
    const { promise, pending, full } = this.#requests.add(agentId, req.id ?? randomUUID(), req, req.timeoutMs ?? this.#opts.requestTimeoutMs);
    if (full) this.#metrics.request('full');
    const kept = pending && this.#orphans.take(agentId, pending.id);
    if (kept) this.#settle(pending, kept); // answered already, before this repeat: the agent would not answer it again
    else if (pending) this.#deliver(pending);
    return promise;
  }

  /** Closes every agent's connection (1001) and stops taking new ones; requests waiting are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.rejectAll(() => new HubClosedError());
    this.#sessions.close();
    const held = this.#sessions.all().map((s) => s.agentId);
    await this.#endpoint.close();
    if (this.#cluster) {
      await Promise.all(held.map((a) => this.#cluster?.offline(a).catch(this.#warn('could not release an agent'))));
      await this.#cluster.close();
    }
    if (this.#owned) {
      this.#server.closeAllConnections?.();
      await new Promise<void>((r) => this.#server.close(() => r()));
    }
  }

  /** Out on the agent's connection here, or through the node holding it; else it waits for the agent. */
  #deliver(p: Pending): void {
    p.sentAt = performance.now();
    const s = this.#sessions.get(p.agentId);
    if (s?.send(p.frame, p.id)) {
      [p.via, p.sent] = [s, true];
      return;
    }
    const cluster = this.#cluster;
    if (!cluster) return;
    this.#ready
      .then(() => cluster.route(p.agentId, p.id, p.frame, p.deadline))
      .then((node) => {
        if (node !== null && !(p.via instanceof Session)) [p.via, p.sent] = [node, true];
      })
      .catch(this.#warn('could not route a request through another hub node; it is sent when the agent comes online'));
  }

  #settle(p: Pending, payload: object): void {
    if (!this.#requests.settle(p)) return;
    if (p.via instanceof Session) p.via.carried.delete(p.id);
    const answer = answerOf(p.id, payload);
    this.#metrics.request(answer instanceof BridgeAnswerError ? 'bridge_error' : 'answered', (performance.now() - p.started) / 1000);
    if (answer instanceof BridgeAnswerError) p.reject(answer);
    else p.resolve(answer);
    this.#sessions.answered(p.agentId);
  }

  #timedOut(p: Pending): void {
    if (p.via instanceof Session) p.via.carried.delete(p.id);
    this.#metrics.request(p.sent ? 'timeout' : 'offline');
    this.#log.warn({ agentId: p.agentId, id: p.id, sent: p.sent }, p.sent ? 'request timed out waiting for its answer' : 'request timed out waiting for its agent');
  }

  /** Reports a failed cluster operation: it is retried by what comes next (a heartbeat, a reconnect, a resend). */
  #warn(what: string): (err: Error) => void {
    return (err) => this.#log.warn({ error: err.message }, `redis: ${what}`);
  }

  #ack = (s: Session | undefined, id: string): unknown => s?.send(encodeEnvelope('NOTIFICATION', 'RESPONSE', id, {}));

  #endpointEvents(): EndpointEvents {
    return {
      authenticate: async (token, req) => this.#opts.authenticate(token, req),
      accepting: () => !this.#closed,
      refused: (why, from) => (this.#metrics.connect(why), this.#log.warn({ why, from }, REFUSED[why])),
      beat: () => {
        if (!this.#cluster) return;
        void this.#cluster.refresh(this.#sessions.all().map(record)).catch(this.#warn('could not renew the agents\' presence'));
        // What went through another node (or found none) unanswered for a beat goes again: a message between nodes may be lost.
        for (const p of this.#requests.all()) if (!(p.via instanceof Session && p.via.open) && performance.now() - p.sentAt >= this.#opts.heartbeatMs) this.#deliver(p);
      },
      online: (s) => {
        const replacing = this.#sessions.take(s);
        this.#metrics.connect('accepted');
        this.#log.info({ agentId: s.agentId, replacing }, 'agent online');
        this.emit('agent-online', { agentId: s.agentId, labels: { ...s.identity.labels } });
        // Everything not answered yet goes (again) to the connection now up, under the same ids.
        for (const p of this.#requests.of(s.agentId)) this.#deliver(p);
        void this.#ready.then(() => this.#cluster?.online(record(s))).catch(this.#warn('could not announce an agent to the other nodes'));
      },
      offline: (s, reason) => {
        if (!this.#sessions.drop(s)) return; // a replaced connection
        this.#log.info({ agentId: s.agentId, reason }, 'agent offline');
        this.emit('agent-offline', { agentId: s.agentId, reason });
        if (!this.#closed) void this.#cluster?.offline(s.agentId).catch(this.#warn('could not release an agent'));
      },
      answer: (s, id, payload) => {
        const p = this.#requests.get(s.agentId, id);
        if (p) this.#settle(p, payload);
        else if (!this.#cluster?.answered(s.agentId, id, payload)) this.#orphans.put(s.agentId, id, payload);
      },
      notification: (s, id, payload) => void this.#notes.fromAgent(s.agentId, id, payload, () => this.#ack(s, id)),
    };
  }

  #clusterEvents(): ClusterEvents {
    return {
      send: (agentId, id, frame) => {
        const kept = this.#orphans.take(agentId, id);
        if (kept) this.#cluster?.answered(agentId, id, kept);
        else this.#sessions.get(agentId)?.send(frame);
      },
      answer: (agentId, id, payload) => {
        const p = this.#requests.get(agentId, id);
        if (p) this.#settle(p, payload);
      },
      online: (agentId, node) => {
        if (node === this.#cluster?.node) return;
        this.#sessions.get(agentId)?.end('replaced by a connection at another hub node', 1000);
        for (const p of this.#requests.of(agentId)) {
          [p.via, p.sent] = [node, true];
          void this.#cluster?.routeTo(node, agentId, p.id, p.frame, p.deadline).catch(this.#warn('could not resend a request through another hub node'));
        }
      },
      ack: (agentId, id) => this.#ack(this.#sessions.get(agentId), id),
      end: (agentId, why) => this.#sessions.get(agentId)?.end(why, 1008),
      handle: async (n) => {
        if (!(await this.#notes.run(n, true))) throw new Error('not handled');
      },
    };
  }
}
