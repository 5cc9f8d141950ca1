// Where agents dial in: the WebSocket upgrade (on the hub's path), the CONNECT and its token
// check, heartbeats, and each message an agent sends handed to the hub by kind. Connections
// that have not proven themselves are bounded (an upgrade past the bound is answered 503
// before any handshake, so a flood costs neither sockets nor token checks), and each has
// connectTimeoutMs to send its CONNECT. Nothing an agent sends throws out of here.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { default as WebSocket, WebSocketServer } from 'ws';
import { requireWsServer } from '../packages.js';
import { encodeEnvelope } from '../protocol/encode.js';
import type { AgentIdentity, ListenOptions } from './types.js';

/** A server of the hub's own, listening: HTTPS with `tls`; plain requests are answered 426. */
export async function listening(opts: ListenOptions): Promise<Server> {
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }) : createServer();
  server.on('request', (_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('NBWSS agents connect here with a WebSocket upgrade\n'));
  server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** An agent's connection once its CONNECT was answered valid:true. */
export class Session {
  readonly since = new Date();
  /** A pong (or any message) came since the last ping. */
  alive = true;
  /** A newer connection of the same agent took over; this one goes once its answers are in. */
  replaced = false;
  /** Why the hub ended it, when it did. */
  why: string | null = null;
  /** Ids of requests sent on it and not answered yet. */
  readonly carried = new Set<string>();
  /** Ends a replaced connection whose answers are slow to come. */
  drainTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly identity: AgentIdentity,
  ) {}

  get agentId(): string {
    return this.identity.agentId;
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  send(frame: string, id?: string): boolean {
    if (!this.open) return false;
    this.ws.send(frame);
    if (id !== undefined) this.carried.add(id);
    return true;
  }

  /** Ends it with a close handshake (or at once, as a broken connection). */
  end(why: string, code?: number): void {
    this.why ??= why;
    if (code === undefined) this.ws.terminate();
    else this.ws.close(code, why.slice(0, 120));
  }
}

/** What the hub logs for each kind of connection it turns away. */
export const REFUSED = {
  token: 'CONNECT refused',
  bound: 'connection refused: too many connections wait for their CONNECT (maxUnauthenticated)',
  timeout: 'connection dropped: no CONNECT within connectTimeoutMs',
} as const;

/** Bytes a connection may send before its CONNECT is answered (a CONNECT is a few hundred). */
const UNPROVEN_BYTES = 64 * 1024;
/** The longest id taken from an agent: ids are UUIDs; anything longer is not the protocol's. */
export const MAX_ID_LENGTH = 256;

export interface EndpointOptions {
  path: string | undefined;
  /** The hub owns the server: an upgrade to another path is answered 404 (else it is left to the application's handlers). */
  owned: boolean;
  maxMessageBytes: number;
  connectTimeoutMs: number;
  heartbeatMs: number;
  maxUnauthenticated: number;
}

export interface EndpointEvents {
  /** Who a token names (null: refused); false from `accepting` answers valid:false whatever the token. */
  authenticate(token: string, req: IncomingMessage): Promise<AgentIdentity | null>;
  accepting(): boolean;
  online(s: Session): void;
  offline(s: Session, reason: string): void;
  answer(s: Session, id: string, payload: object): void;
  notification(s: Session, id: string, payload: unknown): void;
  /** A connection turned away, and the address it came from. */
  refused(why: keyof typeof REFUSED, from: string | undefined): void;
  /** After each heartbeat round. */
  beat(): void;
}

export class Endpoint {
  readonly #server: Server;
  readonly #opts: EndpointOptions;
  readonly #on: EndpointEvents;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<WebSocket, Session>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head);
  #unproven = 0;

  constructor(server: Server, opts: EndpointOptions, on: EndpointEvents) {
    this.#server = server;
    this.#opts = opts;
    this.#on = on;
    this.#wss = new (requireWsServer())({ noServer: true, maxPayload: opts.maxMessageBytes, perMessageDeflate: false });
    server.on('upgrade', this.#onUpgrade);
    this.#heartbeat = setInterval(() => this.#beat(), opts.heartbeatMs).unref();
  }

  /** Connections waiting to prove themselves. */
  get unproven(): number {
    return this.#unproven;
  }

  /** Closes every connection (1001, then at once) and stops taking new ones. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#server.off('upgrade', this.#onUpgrade);
    for (const s of this.#sessions.values()) s.why ??= 'hub closing';
    for (const ws of this.#wss.clients) ws.close(1001, 'hub closing');
    await new Promise<void>((r) => this.#wss.close(() => r()));
    for (const ws of this.#wss.clients) ws.terminate();
  }

  #beat(): void {
    for (const s of this.#sessions.values()) {
      if (!s.alive) {
        s.end('no answer to a heartbeat');
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
    this.#on.beat();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0];
    socket.on('error', () => {}); // a reset socket is closed: nothing to do
    if (this.#opts.path !== undefined && path !== this.#opts.path) {
      if (this.#opts.owned) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return; // else another handler's
    }
    if (this.#unproven >= this.#opts.maxUnauthenticated) {
      this.#on.refused('bound', req.socket.remoteAddress);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Counted until the CONNECT is answered valid or the socket closes, whatever happens between
    // (a handshake ws refuses never calls back). Until then, at most UNPROVEN_BYTES are read.
    this.#unproven++;
    let received = 0; // the head, if any, comes back through data: ws puts it back on the socket
    const watch = (chunk: Buffer) => {
      received += chunk.length;
      if (received > UNPROVEN_BYTES) socket.destroy();
    };
    let counted = true;
    const proven = () => {
      if (!counted) return;
      counted = false;
      this.#unproven--;
      socket.off('data', watch);
    };
    socket.on('data', watch);
    socket.once('close', proven);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connection(ws, req, proven));
  }

  #connection(ws: WebSocket, req: IncomingMessage, proven: () => void): void {
    let session: Session | null = null;
    const timer = setTimeout(() => {
      this.#on.refused('timeout', req.socket.remoteAddress);
      ws.terminate();
    }, this.#opts.connectTimeoutMs);
    ws.on('error', () => {}); // the close that follows is what counts
    ws.on('pong', () => session && (session.alive = true));
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (!session) return;
      this.#sessions.delete(ws);
      this.#on.offline(session, session.why ?? (code === 1006 ? 'connection lost' : `closed ${code}`));
    });
    let connecting = false;
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? null : parse(data as Buffer);
      if (msg === null) return; // not a message of the protocol
      const { id, type, subType, payload } = msg;
      if (session === null) {
        if (connecting || type !== 'CONNECT' || subType !== 'REQUEST') return;
        connecting = true;
        clearTimeout(timer);
        const token = typeof payload === 'object' && payload !== null ? (payload as { token?: unknown }).token : undefined;
        void this.#connect(ws, req, id, typeof token === 'string' ? token : '').then((s) => {
          if (s && ws.readyState === ws.OPEN) {
            proven();
            session = s;
            this.#sessions.set(ws, s);
            this.#on.online(s);
          } else if (!s) ws.close(1008, 'CONNECT refused');
        });
        return;
      }
      session.alive = true;
      if (type === 'COMMAND' && subType === 'RESPONSE') {
        if (typeof payload === 'object' && payload !== null) this.#on.answer(session, id, payload);
      } else if (type === 'NOTIFICATION' && subType === 'REQUEST') this.#on.notification(session, id, payload);
    });
  }

  async #connect(ws: WebSocket, req: IncomingMessage, id: string, token: string): Promise<Session | null> {
    let identity: AgentIdentity | null = null;
    try {
      identity = token === '' ? null : await this.#on.authenticate(token, req);
    } catch {
      identity = null;
    }
    const valid = identity !== null && this.#on.accepting();
    if (!valid) this.#on.refused('token', req.socket.remoteAddress);
    if (ws.readyState === ws.OPEN) ws.send(encodeEnvelope('CONNECT', 'RESPONSE', id, { valid }));
    return valid && identity ? new Session(ws, identity) : null;
  }
}

type Frame = { id: string; type?: unknown; subType?: unknown; payload?: unknown };

/** A message of the protocol's shape (an object with a string id), or null. */
function parse(data: Buffer): Frame | null {
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return null;
  }
  const id = typeof msg === 'object' && msg !== null ? (msg as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return null;
  return msg as Frame;
}
