// The cloud application's end of NBWSS: agents (bridges, or NetBackup's own service) dial in,
// prove themselves with a CONNECT, and are sent COMMAND REQUESTs; their answers come back by
// id. A request whose agent drops is sent again, under the same id, whenever the agent is
// back, until answered or timed out: the agent runs an id at most once, so the request runs at
// most once end to end. NOTIFICATION REQUESTs go to the application's handlers and are
// acknowledged only once those have resolved.
import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeEnvelope } from '../protocol/encode.js';
import { AgentOfflineError, BridgeAnswerError, HubClosedError, InFlightFullError, RequestTimeoutError } from './errors.js';
import { answerOf } from './answer.js';
import { HandledIds } from './handled.js';
import { NotificationInbox } from './inbox.js';
import { NetBackupSession, type NetBackupCredentials, type NetBackupOptions } from './netbackup.js';
import { FileTokenStore, newToken, verifyToken, type TokenStore } from './tokens.js';
import { HUB_DEFAULTS, type AgentIdentity, type AgentInfo, type Authenticate, type EndpointDetails, type HubOptions, type HubRequest, type HubResponse, type ListenOptions, type Notification } from './types.js';

export type { AgentIdentity, AgentInfo, Authenticate, EndpointDetails, HubOptions, HubRequest, HubResponse, ListenOptions, Notification } from './types.js';

interface Pending {
  readonly id: string;
  readonly frame: string;
  readonly timer: NodeJS.Timeout;
  sent: boolean;
  resolve(res: HubResponse): void;
  reject(err: Error): void;
}

interface Session {
  readonly ws: WebSocket;
  readonly identity: AgentIdentity;
  readonly since: Date;
}

export class Hub extends EventEmitter {
  readonly #opts: Required<Omit<HubOptions, 'path' | 'tokens'>> & { path: string | undefined };
  readonly #tokens: TokenStore | null;
  readonly #wss: WebSocketServer;
  readonly #server: Server;
  readonly #owned: boolean;
  readonly #sessions = new Map<string, Session>();
  readonly #pending = new Map<string, Map<string, Pending>>();
  readonly #handled = new HandledIds(10_000);
  readonly #notify: ((n: Notification) => unknown)[] = [];
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head);
  #closed = false;

  private constructor(server: Server, owned: boolean, opts: HubOptions) {
    super();
    const tokens = typeof opts.tokens === 'string' ? new FileTokenStore(opts.tokens) : (opts.tokens ?? null);
    if (!opts.authenticate && !tokens) throw new TypeError('a hub needs authenticate, tokens, or both');
    this.#tokens = tokens;
    const byToken: Authenticate = async (t) => (tokens ? verifyToken(tokens, t).then((agentId) => (agentId === null ? null : { agentId })) : null);
    this.#opts = { ...HUB_DEFAULTS, ...opts, authenticate: opts.authenticate ?? byToken, path: opts.path };
    this.#server = server;
    this.#owned = owned;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.#opts.maxMessageBytes, perMessageDeflate: false });
    server.on('upgrade', this.#onUpgrade);
  }

  /** Starts a hub on its own HTTP (or HTTPS) server. */
  static async listen(opts: ListenOptions): Promise<Hub> {
    const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }) : createServer();
    server.on('request', (_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('NBWSS agents connect here with a WebSocket upgrade\n'));
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    await once(server, 'listening');
    return new Hub(server, true, opts);
  }

  /** Mounts a hub on an existing server: it takes upgrades to `path`, and leaves everything else alone. */
  static attach(opts: HubOptions & { server: Server }): Hub {
    return new Hub(opts.server, false, opts);
  }

  /** The ws:// or wss:// URL agents dial. */
  get url(): string {
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${'cert' in this.#server ? 'wss' : 'ws'}://${host}:${a.port}${this.#opts.path ?? '/'}`;
  }

  /** Registers a handler; a 'notification' handler may return a promise, and the agent's notification is acknowledged once every handler's has resolved. */
  override on(event: string | symbol, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (event === 'notification') this.#notify.push(listener);
    else super.on(event, listener);
    return this;
  }

  /** The agents connected now. */
  agents(): AgentInfo[] {
    return [...this.#sessions.values()].map((s) => ({ agentId: s.identity.agentId, labels: { ...s.identity.labels }, since: s.since, inFlight: this.#pending.get(s.identity.agentId)?.size ?? 0 }));
  }

  /** Notifications as an async iterable: each is acknowledged once the loop body that took it has finished; at most `max` wait for the loop. */
  notifications(max = 1000): AsyncIterable<Notification> {
    const handler = (n: Notification) => inbox.take(n);
    const inbox: NotificationInbox = new NotificationInbox(max, () => {
      const i = this.#notify.indexOf(handler);
      if (i !== -1) this.#notify.splice(i, 1);
    });
    this.#notify.push(handler);
    return inbox;
  }

  /** NetBackup on `agentId`: logged in with `creds`, the token and media type on every call, a new login on a 401. */
  netbackup(agentId: string, creds: NetBackupCredentials, opts?: NetBackupOptions): NetBackupSession {
    return new NetBackupSession((req) => this.request(agentId, req), creds, opts);
  }

  /** A fresh token for `agentId` (replacing any earlier one), kept hashed in `tokens`: its endpoint details, for NetBackup or the bridge. */
  async issueAgent({ agentId, group = 'default', priority = 0 }: { agentId: string; group?: string; priority?: number }): Promise<EndpointDetails> {
    const { token, stored } = await newToken(agentId, group, priority);
    await this.#store().set(agentId, stored);
    return { url: this.url, token, groupId: group, priority, hostName: new URL(this.url).hostname.replace(/^\[|\]$/g, '') };
  }

  /** Revokes an agent's token and drops its connection; false when it had none. */
  async revokeAgent(agentId: string): Promise<boolean> {
    const had = await this.#store().delete(agentId);
    this.disconnect(agentId);
    return had;
  }

  #store(): TokenStore {
    if (this.#tokens) return this.#tokens;
    throw new TypeError('this hub has no token store: give it the tokens option');
  }

  /** Drops an agent's connection at once (as a broken one); false when it is not connected. Its requests in flight wait for it to come back. */
  disconnect(agentId: string): boolean {
    const s = this.#sessions.get(agentId);
    s?.ws.terminate();
    return s !== undefined;
  }

  /** Sends a COMMAND REQUEST to an agent (now, or when it connects) and resolves with its answer. */
  request(agentId: string, req: HubRequest): Promise<HubResponse> {
    if (this.#closed) return Promise.reject(new HubClosedError());
    const pending = this.#pendingOf(agentId);
    if (pending.size >= this.#opts.maxInFlightPerAgent) return Promise.reject(new InFlightFullError(agentId, this.#opts.maxInFlightPerAgent));
    const id = req.id ?? randomUUID();
    const existing = pending.get(id);
    if (existing) return new Promise((resolve, reject) => this.#chain(existing, resolve, reject));
    const timeoutMs = req.timeoutMs ?? this.#opts.requestTimeoutMs;
    const payload: Record<string, unknown> = { uri: req.uri, method: req.method, headers: req.headers ?? {} };
    if (req.body !== undefined) payload.parameters = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const frame = encodeEnvelope('COMMAND', 'REQUEST', id, payload);
    return new Promise<HubResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settled(agentId, pending, p);
        reject(p.sent ? new RequestTimeoutError(agentId, id, timeoutMs) : new AgentOfflineError(agentId, timeoutMs));
      }, timeoutMs);
      const p: Pending = { id, frame, timer, sent: false, resolve, reject };
      pending.set(id, p);
      this.#send(agentId, p);
    });
  }

  /** Closes every agent's connection (1001) and stops taking new ones; requests waiting are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.off('upgrade', this.#onUpgrade);
    for (const p of [...this.#pending.values()].flatMap((m) => [...m.values()])) {
      clearTimeout(p.timer);
      p.reject(new HubClosedError());
    }
    this.#pending.clear();
    for (const ws of this.#wss.clients) ws.close(1001, 'hub closing');
    await new Promise<void>((r) => this.#wss.close(() => r()));
    for (const ws of this.#wss.clients) ws.terminate();
    if (this.#owned) {
      this.#server.closeAllConnections?.();
      await new Promise<void>((r) => this.#server.close(() => r()));
    }
  }

  /** A request is answered or timed out: it leaves the agent's list (and an empty list goes). */
  #settled(agentId: string, pending: Map<string, Pending>, p: Pending): void {
    clearTimeout(p.timer);
    pending.delete(p.id);
    if (pending.size === 0 && this.#pending.get(agentId) === pending) this.#pending.delete(agentId);
  }

  #pendingOf(agentId: string): Map<string, Pending> {
    let m = this.#pending.get(agentId);
    if (!m) this.#pending.set(agentId, (m = new Map()));
    return m;
  }

  /** A second request under an id already waiting shares its answer. */
  #chain(p: Pending, resolve: (r: HubResponse) => void, reject: (e: Error) => void): void {
    const [first, firstErr] = [p.resolve, p.reject];
    p.resolve = (r) => (first(r), resolve(r));
    p.reject = (e) => (firstErr(e), reject(e));
  }

  #send(agentId: string, p: Pending): void {
    const s = this.#sessions.get(agentId);
    if (!s || s.ws.readyState !== WebSocket.OPEN) return;
    p.sent = true;
    s.ws.send(p.frame);
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0];
    if (this.#opts.path !== undefined && path !== this.#opts.path) return; // another handler's
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connection(ws, req));
  }

  #connection(ws: WebSocket, req: IncomingMessage): void {
    let session: Session | null = null;
    const timer = setTimeout(() => ws.terminate(), this.#opts.connectTimeoutMs);
    ws.on('error', () => {}); // the close that follows is what counts
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (session && this.#sessions.get(session.identity.agentId) === session) {
        this.#sessions.delete(session.identity.agentId);
        this.emit('agent-offline', { agentId: session.identity.agentId, reason: code === 1006 ? 'connection lost' : `closed ${code}` });
      }
    });
    let connecting = false;
    ws.on('message', (data, isBinary) => {
      // Nothing an agent sends may throw out of here: ws would hand it to the process.
      let msg: unknown;
      try {
        msg = JSON.parse(isBinary ? '' : (data as Buffer).toString('utf8'));
      } catch {
        return; // not a message of the protocol
      }
      if (typeof msg !== 'object' || msg === null || typeof (msg as { id?: unknown }).id !== 'string') return;
      const { id, type, subType, payload } = msg as { id: string; type?: unknown; subType?: unknown; payload?: unknown };
      if (session === null) {
        if (connecting || type !== 'CONNECT' || subType !== 'REQUEST') return;
        connecting = true;
        clearTimeout(timer);
        const token = typeof payload === 'object' && payload !== null ? (payload as { token?: unknown }).token : undefined;
        void this.#connect(ws, req, id, typeof token === 'string' ? token : '').then((s) => (session = s));
        return;
      }
      if (type === 'COMMAND' && subType === 'RESPONSE') this.#answered(session.identity.agentId, id, payload);
      else if (type === 'NOTIFICATION' && subType === 'REQUEST') void this.#notified(session, id, payload);
    });
  }

  async #connect(ws: WebSocket, req: IncomingMessage, id: string, token: string): Promise<Session | null> {
    let identity: AgentIdentity | null = null;
    try {
      identity = token === '' ? null : await this.#opts.authenticate(token, req);
    } catch {
      identity = null;
    }
    const valid = identity !== null && !this.#closed;
    ws.send(encodeEnvelope('CONNECT', 'RESPONSE', id, { valid }));
    if (!valid || identity === null) return null;
    const session: Session = { ws, identity, since: new Date() };
    const older = this.#sessions.get(identity.agentId);
    this.#sessions.set(identity.agentId, session);
    older?.ws.close(1000, 'replaced by a newer connection of the same agent');
    this.emit('agent-online', { agentId: identity.agentId, labels: { ...identity.labels } });
    // Everything not answered yet goes (again) to the connection now up, under the same ids.
    for (const p of this.#pending.get(identity.agentId)?.values() ?? []) this.#send(identity.agentId, p);
    return session;
  }

  #answered(agentId: string, id: string, payload: unknown): void {
    const pending = this.#pending.get(agentId);
    const p = pending?.get(id);
    if (!pending || !p || typeof payload !== 'object' || payload === null) return;
    this.#settled(agentId, pending, p);
    const answer = answerOf(id, payload);
    if (answer instanceof BridgeAnswerError) p.reject(answer);
    else p.resolve(answer);
  }

  async #notified(s: Session, id: string, payload: unknown): Promise<void> {
    const agentId = s.identity.agentId;
    const ack = () => s.ws.readyState === WebSocket.OPEN && s.ws.send(encodeEnvelope('NOTIFICATION', 'RESPONSE', id, {}));
    if (this.#handled.has(agentId, id)) {
      ack(); // handled before; its acknowledgement was lost
      return;
    }
    const n: Notification = { agentId, id, notifications: Array.isArray(payload) ? (payload as Notification['notifications']) : [] };
    try {
      await Promise.all(this.#notify.map((h) => h(n)));
    } catch (err) {
      this.emit('notification-error', { agentId, id, err });
      return; // not acknowledged: the agent sends it again
    }
    this.#handled.add(agentId, id);
    ack();
  }
}
