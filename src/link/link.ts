// The one outbound WebSocket: dial, CONNECT handshake, heartbeat, reconnect with backoff.
//
// Only messages received after the CONNECT was answered `valid: true` on the current
// connection leave this module, as `inbound` events.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import { isLoopbackHost } from '../config/load.js';
import { LinkError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { decodeFrame, decodeOversized, encodeConnectRequest, type Inbound } from '../protocol/codec.js';
import { Backoff } from './backoff.js';
import { Heartbeat } from './heartbeat.js';

export interface LinkOptions {
  url: string;
  token: string;
  /** Extra trusted CA (PEM) for wss://, added to the system roots. */
  ca: string | null;
  /** Time allowed to open the socket, and again for the CONNECT RESPONSE. */
  connectTimeoutMs: number;
  heartbeatMs: number;
  reconnect: { minMs: number; maxMs: number };
  /** Frames above this many bytes are not served (answered 413 when their id can be read). */
  maxMessageBytes: number;
  perMessageDeflate: boolean;
  userAgent: string;
  log: Logger;
}

export type LinkState = 'idle' | 'connecting' | 'handshaking' | 'ready' | 'stopped';

export interface LinkEvents {
  /** The CONNECT was answered `valid: true`; commands may flow. */
  ready: [info: { connection: number }];
  /** The ready connection is gone. */
  down: [info: { connection: number; reason: string }];
  /** A message from the cloud on a ready connection. */
  inbound: [message: Inbound];
}

/** Normal closure codes the bridge sends. */
export const CLOSE = { normal: 1000, goingAway: 1001 } as const;

/**
 * Frames from a client are masked so that intermediaries reading clear text cannot be fooled
 * by attacker-chosen payloads. Over TLS, or on loopback, no intermediary reads the frames: an
 * all-zero mask (which ws recognizes and skips) saves a copy and an XOR pass of every answer.
 */
const zeroMask = (mask: Buffer) => {
  mask.fill(0);
};

function maskNeeded(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'ws:' && !isLoopbackHost(u.hostname);
}

/** The URL without query or credentials, for logs (a cloud may put a secret in the query). */
export function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export class Link extends EventEmitter<LinkEvents> {
  readonly #opts: LinkOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #state: LinkState = 'idle';
  #ws: WebSocket | null = null;
  #connection = 0;
  #connectId: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #heartbeat: Heartbeat | null = null;
  #corked = false;

  constructor(opts: LinkOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.log;
    this.#backoff = new Backoff(opts.reconnect);
  }

  get state(): LinkState {
    return this.#state;
  }

  /** True while commands may be received and answers sent. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Number of the current (or last) connection, counting from 1. */
  get connection(): number {
    return this.#connection;
  }

  /** Bytes queued on the socket but not yet written. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#dial();
  }

  /**
   * Sends one frame on the ready connection; false when there is none. `done` runs once the
   * frame is written to the socket, with an error when it could not be.
   *
   * Frames sent in the same turn of the event loop leave in one write: the socket is corked
   * at the first and uncorked once the turn's I/O callbacks are done (setImmediate).
   */
  send(text: string, done?: (err?: Error) => void): boolean {
    const ws = this.#ws;
    if (this.#state !== 'ready' || ws === null || ws.readyState !== WebSocket.OPEN) return false;
    if (!this.#corked) {
      const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (socket) {
        socket.cork();
        this.#corked = true;
        setImmediate(() => {
          this.#corked = false;
          socket.uncork();
        });
      }
    }
    ws.send(text, done);
    return true;
  }

  /**
   * Closes the connection (after every frame already sent) and stops reconnecting.
   * Settles once the socket is closed, or after `timeoutMs` by terminating it.
   */
  async stop(code: number = CLOSE.goingAway, reason = 'bridge shutting down', timeoutMs = 3000): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasReady = this.#state === 'ready';
    this.#state = 'stopped';
    this.#clearTimer();
    this.#heartbeat?.stop();
    const ws = this.#ws;
    if (wasReady) this.emit('down', { connection: this.#connection, reason: 'stopped' });
    if (ws === null || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => {
        ws.terminate();
        resolve();
      }, timeoutMs);
      ws.once('close', () => {
        clearTimeout(kill);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code, reason);
    });
  }

  #dial(): void {
    const opts = this.#opts;
    const n = ++this.#connection;
    this.#state = 'connecting';
    this.#log.debug({ conn: n, url: safeUrl(opts.url) }, 'dialling the cloud endpoint');
    const ws = new WebSocket(opts.url, {
      handshakeTimeout: opts.connectTimeoutMs,
      perMessageDeflate: opts.perMessageDeflate,
      // Frames a little over the limit are still read so they can be answered 413; beyond this the socket closes (1009).
      maxPayload: opts.maxMessageBytes + Math.max(opts.maxMessageBytes, 1024 * 1024),
      followRedirects: false,
      headers: { 'user-agent': opts.userAgent },
      ...(maskNeeded(opts.url) ? {} : { generateMask: zeroMask }),
      ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}),
    });
    this.#ws = ws;
    let lastError = '';
    /** Ends this connection on the bridge's own decision; the close handler reports `err` as the reason. */
    const fail = (err: LinkError, terminate: boolean) => {
      lastError = err.code;
      this.#log.warn({ conn: n, code: err.code }, `${err.message}; reconnecting`);
      if (terminate) ws.terminate();
      else ws.close(err.closeCode, err.message.slice(0, 120));
    };
    const heartbeat = new Heartbeat(opts.heartbeatMs, {
      ping: () => ws.ping(),
      dead: () =>
        fail(new LinkError('NBW_ERR_HEARTBEAT_TIMEOUT', `no pong from the cloud within ${opts.heartbeatMs} ms`, CLOSE.normal), true),
    });
    this.#heartbeat = heartbeat;

    ws.on('open', () => {
      if (this.#state === 'stopped') return;
      this.#state = 'handshaking';
      this.#connectId = randomUUID().toUpperCase();
      heartbeat.start();
      ws.send(encodeConnectRequest(this.#connectId, opts.token));
      this.#setTimer(opts.connectTimeoutMs, () =>
        fail(new LinkError('NBW_ERR_CONNECT_TIMEOUT', `no CONNECT RESPONSE within ${opts.connectTimeoutMs} ms`, CLOSE.normal), true),
      );
    });
    ws.on('pong', () => heartbeat.seen());
    ws.on('message', (data, isBinary) => {
      heartbeat.seen();
      this.#onMessage(n, data as Buffer, isBinary, fail);
    });
    ws.on('error', (err) => {
      lastError ||= (err as NodeJS.ErrnoException).code ?? err.message;
    });
    ws.on('close', (code, reasonBuf) => {
      heartbeat.stop();
      this.#clearTimer();
      const wasReady = this.#state === 'ready';
      const reason = lastError || `closed ${code}${reasonBuf.length ? ` ${reasonBuf.toString('utf8')}` : ''}`;
      if (this.#ws === ws) this.#ws = null;
      if (wasReady) this.emit('down', { connection: n, reason });
      if (this.#state === 'stopped') return;
      const delay = this.#backoff.next();
      const log = wasReady ? this.#log.warn.bind(this.#log) : this.#log.info.bind(this.#log);
      log({ conn: n, reason, retryInMs: delay, attempt: this.#backoff.attempt }, wasReady ? 'cloud connection lost; reconnecting' : 'cloud connection failed; retrying');
      this.#state = 'idle';
      this.#setTimer(delay, () => this.#dial());
    });
  }

  #onMessage(n: number, data: Buffer, isBinary: boolean, fail: (err: LinkError, terminate: boolean) => void): void {
    if (isBinary) {
      this.#log.warn({ conn: n, code: 'NBW_ERR_FRAME_DROPPED', bytes: data.length }, 'dropped a binary frame: NBWSS messages are text');
      return;
    }
    const text = data.toString('utf8');
    const msg = data.length > this.#opts.maxMessageBytes
      ? decodeOversized(text, data.length, this.#opts.maxMessageBytes)
      : decodeFrame(text);

    if (this.#state === 'handshaking') {
      if (msg.kind === 'connect-response' && msg.id === this.#connectId) {
        this.#onConnectResponse(n, msg.valid, msg.problem, fail);
        return;
      }
      this.#log.warn(
        { conn: n, code: 'NBW_ERR_FRAME_DROPPED', kind: msg.kind, id: idOf(msg) },
        'dropped a message that arrived before the CONNECT was answered',
      );
      return;
    }
    if (this.#state !== 'ready') return;
    if (msg.kind === 'connect-response') {
      this.#log.warn({ conn: n, code: 'NBW_ERR_FRAME_DROPPED', id: msg.id }, 'dropped a stray CONNECT RESPONSE');
      return;
    }
    this.emit('inbound', msg);
  }

  #onConnectResponse(n: number, valid: boolean, problem: string | undefined, fail: (err: LinkError, terminate: boolean) => void): void {
    this.#clearTimer();
    if (!valid) {
      const why = problem ? `malformed CONNECT RESPONSE (${problem})` : 'the cloud refused the CONNECT (token not valid)';
      fail(new LinkError('NBW_ERR_CONNECT_REFUSED', why, CLOSE.normal), false);
      return;
    }
    this.#state = 'ready';
    this.#backoff.reset();
    this.#log.info({ conn: n, url: safeUrl(this.#opts.url) }, 'connected to the cloud; serving commands');
    this.emit('ready', { connection: n });
  }

  #setTimer(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      fn();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

function idOf(msg: Inbound): string | undefined {
  return msg.kind === 'command' ? msg.command.id : msg.id;
}
