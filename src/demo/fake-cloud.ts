// A cloud application endpoint on loopback: accepts the bridge's connections, answers its
// CONNECT, sends COMMAND REQUESTs and collects the answers. The demo and the tests both use it.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { requireWsServer } from '../packages.js';
import { NB_MEDIA_TYPE } from './fake-rest.js';

/** A parsed message from the bridge, or the raw text when it was not JSON. */
export type CloudMessage = {
  version?: unknown;
  id?: unknown;
  type?: unknown;
  subType?: unknown;
  timeStamp?: unknown;
  payload?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  raw?: string;
};

export const seconds = (): number => Math.floor(Date.now() / 1000);

/** An envelope with a fresh upper-case UUID unless `id` is given. */
export function makeEnvelope(type: string, subType: string, payload: unknown, id: string = randomUUID().toUpperCase()) {
  return { version: '1.0', id, type, subType, timeStamp: seconds(), payload };
}

type Waiter = { pred: (m: CloudMessage) => boolean; resolve: (m: CloudMessage) => void; timer: NodeJS.Timeout };

export interface CommandOptions {
  headers?: Record<string, string>;
  parameters?: unknown;
  id?: string;
  timeoutMs?: number;
}

export const DEMO_JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1N';

/** One connection from the bridge, seen from the cloud. */
export class CloudPeer {
  readonly ws: WebSocket;
  readonly messages: CloudMessage[] = [];
  /** Settles with the close code. */
  readonly closed: Promise<number>;
  isClosed = false;
  /** Whether the CONNECT was answered valid, once answered. */
  connectValid: boolean | null = null;
  #waiters: Waiter[] = [];

  /** Headers of the WebSocket upgrade request. */
  readonly upgradeHeaders: IncomingHttpHeaders;
  /** Path and query the bridge dialled. */
  readonly path: string;

  constructor(ws: WebSocket, private readonly cloud: FakeCloud, upgradeHeaders: IncomingHttpHeaders = {}, path = '/') {
    this.ws = ws;
    this.upgradeHeaders = upgradeHeaders;
    this.path = path;
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.isClosed = true;
        resolve(code);
      }),
    );
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const text = (data as Buffer).toString('utf8');
      let msg: CloudMessage;
      try {
        msg = JSON.parse(text) as CloudMessage;
      } catch {
        msg = { raw: text };
      }
      if (isBinary) msg = { raw: text };
      this.messages.push(msg);
      this.#autoReply(msg);
      for (const w of [...this.#waiters]) {
        if (w.pred(msg)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          clearTimeout(w.timer);
          w.resolve(msg);
        }
      }
    });
  }

  #autoReply(msg: CloudMessage): void {
    if (msg.type === 'CONNECT' && msg.subType === 'REQUEST' && this.cloud.answerConnect) {
      this.connectValid = msg.payload?.token === this.cloud.token;
      this.send(makeEnvelope('CONNECT', 'RESPONSE', { valid: this.connectValid }, msg.id as string));
    }
    if (msg.type === 'NOTIFICATION' && msg.subType === 'REQUEST' && this.cloud.ackNotifications) {
      this.send(makeEnvelope('NOTIFICATION', 'RESPONSE', {}, msg.id as string));
    }
  }

  /** The NOTIFICATION REQUESTs received, in order. */
  notifications(): CloudMessage[] {
    return this.messages.filter((m) => m.type === 'NOTIFICATION' && m.subType === 'REQUEST');
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Waits for a message matching `pred`, including ones already received. */
  waitFor(pred: (m: CloudMessage) => boolean, timeoutMs = 5000, label = 'a message'): Promise<CloudMessage> {
    const hit = this.messages.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
      }, timeoutMs);
      this.#waiters.push({ pred, resolve, timer });
    });
  }

  connectRequest(timeoutMs = 10_000): Promise<CloudMessage> {
    return this.waitFor((m) => m.type === 'CONNECT' && m.subType === 'REQUEST', timeoutMs, 'CONNECT REQUEST');
  }

  /** Sends a COMMAND REQUEST and returns its id. */
  sendCommand(method: string, uri: string, opts: CommandOptions = {}): string {
    const payload: Record<string, unknown> = {
      uri,
      method,
      headers: opts.headers ?? { 'Content-Type': NB_MEDIA_TYPE, Authorization: DEMO_JWT },
    };
    if (opts.parameters !== undefined) payload.parameters = opts.parameters;
    const env = makeEnvelope('COMMAND', 'REQUEST', payload, opts.id);
    this.send(env);
    return env.id;
  }

  responseFor(id: string, timeoutMs = 5000): Promise<CloudMessage> {
    return this.waitFor((m) => m.id === id && m.type === 'COMMAND' && m.subType === 'RESPONSE', timeoutMs, `COMMAND RESPONSE for ${id}`);
  }

  /** Every answer received for `id`. */
  responsesFor(id: string): CloudMessage[] {
    return this.messages.filter((m) => m.id === id && m.type === 'COMMAND' && m.subType === 'RESPONSE');
  }

  command(method: string, uri: string, opts: CommandOptions = {}): Promise<CloudMessage> {
    return this.responseFor(this.sendCommand(method, uri, opts), opts.timeoutMs);
  }
}

export interface FakeCloudOptions {
  token: string;
  /** Answer every CONNECT (valid when the token matches); false leaves it to the test. */
  answerConnect?: boolean;
  /** Answer pings (the default); false plays a peer that stopped responding. */
  autoPong?: boolean;
  /** Acknowledge every NOTIFICATION REQUEST (the default). */
  ackNotifications?: boolean;
  /** Serve wss:// on this HTTPS server instead of ws:// on a port of its own. */
  server?: HttpsServer;
  /** Largest message accepted; a larger one closes the connection with 1009, as many WebSocket stacks do (default 512 MiB). */
  maxPayload?: number;
  /** Headers added to the upgrade answer (a Date, as web servers in front of a cloud send one). */
  upgradeHeaders?: Record<string, string>;
}

/** The cloud application's WebSocket endpoint. */
export class FakeCloud {
  /** The token a CONNECT must carry to be answered valid (a test may rotate it). */
  token: string;
  answerConnect: boolean;
  ackNotifications: boolean;
  readonly peers: CloudPeer[] = [];
  readonly #opts: FakeCloudOptions;
  #wss: WebSocketServer | null = null;
  #port = 0;
  #waiters: (() => void)[] = [];

  constructor(opts: FakeCloudOptions) {
    this.token = opts.token;
    this.answerConnect = opts.answerConnect ?? true;
    this.ackNotifications = opts.ackNotifications ?? true;
    this.#opts = opts;
  }

  get url(): string {
    return `${this.#opts.server ? 'wss' : 'ws'}://${this.#opts.server ? 'localhost' : '127.0.0.1'}:${this.#port}/nbwss/endpoint`;
  }

  get port(): number {
    return this.#port;
  }

  async start(port = 0): Promise<this> {
    const common = { maxPayload: this.#opts.maxPayload ?? 512 * 1024 * 1024, autoPong: this.#opts.autoPong ?? true };
    const server = this.#opts.server;
    const Wss = requireWsServer();
    const wss = server ? new Wss({ server, ...common }) : new Wss({ host: '127.0.0.1', port, ...common });
    const extra = Object.entries(this.#opts.upgradeHeaders ?? {});
    if (extra.length) wss.on('headers', (headers) => headers.push(...extra.map(([k, v]) => `${k}: ${v}`)));
    wss.on('connection', (ws, req) => {
      this.peers.push(new CloudPeer(ws, this, req.headers, req.url));
      for (const w of this.#waiters.splice(0)) w();
    });
    if (server) {
      if (!server.listening) server.listen(port, '127.0.0.1');
      if (!server.listening) await once(server, 'listening');
      this.#port = (server.address() as AddressInfo).port;
    } else {
      await once(wss, 'listening');
      this.#port = (wss.address() as AddressInfo).port;
    }
    this.#wss = wss;
    return this;
  }

  /** The n-th connection (0-based) the bridge makes. */
  async peer(n = 0, timeoutMs = 10_000): Promise<CloudPeer> {
    const deadline = Date.now() + timeoutMs;
    while (this.peers.length <= n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for bridge connection #${n}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.peers[n] as CloudPeer;
  }

  /** The n-th connection, once its CONNECT was answered valid. */
  async readyPeer(n = 0, timeoutMs = 10_000): Promise<CloudPeer> {
    const p = await this.peer(n, timeoutMs);
    await p.connectRequest(timeoutMs);
    return p;
  }

  async stop(): Promise<void> {
    const wss = this.#wss;
    if (!wss) return;
    this.#wss = null;
    for (const p of this.peers) p.ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    const server = this.#opts.server;
    if (server?.listening) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
