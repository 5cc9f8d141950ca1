// One WebSocket connection to one cloud endpoint: dial (directly or through the proxy), the
// CONNECT handshake, heartbeat, frames in and out. The Link decides which to dial and when.
import { randomUUID } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import type { ProxyConfig } from '../config/endpoints.js';
import { isLoopbackHost } from '../config/files.js';
import { LinkError } from '../errors.js';
import { logId } from '../log/fields.js';
import type { WarnLimiter } from '../log/limiter.js';
import type { Logger } from '../log/logger.js';
import type { DisconnectReason, Telemetry } from '../metrics/telemetry.js';
import { decodeFrame, decodeOversized, encodeConnectRequest, type Delivered } from '../protocol/codec.js';
import { Heartbeat } from './heartbeat.js';
import { proxyAgent } from './proxy.js';

/** Close codes the bridge sends or reacts to. */
export const CLOSE = { normal: 1000, goingAway: 1001, abnormal: 1006, policy: 1008, tooBig: 1009, internal: 1011, tryAgainLater: 1013 } as const;

export type ConnState = 'connecting' | 'handshaking' | 'ready' | 'closed';

/** What every connection of a link shares. */
export interface ConnSettings {
  group: string;
  ca: string | null;
  connectTimeoutMs: number;
  heartbeatMs: number;
  /** Pings in a row that may go without a pong before the connection is given up. */
  maxMissedPongs: number;
  maxMessageBytes: number;
  /** Deepest JSON nesting accepted from the cloud. */
  maxJsonDepth: number;
  perMessageDeflate: boolean;
  userAgent: string;
  proxy: ProxyConfig | null;
  /** Send frames with an all-zero mask to a loopback endpoint (an operator's opt-in; see maskFor). */
  loopbackZeroMask: boolean;
  log: Logger;
  /** Warnings the cloud can cause at will, limited per connection and kind. */
  warn: WarnLimiter;
  /** Oddities of the cloud already logged once (an unusual CONNECT RESPONSE). */
  noted: Set<string>;
  telemetry: Telemetry;
}

/** The largest frame sent on a connection, with what the sender tagged it with. */
export interface SentFrame {
  readonly bytes: number;
  readonly tag: unknown;
}

/** How a connection ended. */
export interface ClosedInfo {
  /** Commands had been flowing on it (its CONNECT was answered valid:true). */
  wasReady: boolean;
  /** Why, for logs: the socket error, or "closed <code> <reason>". */
  reason: string;
  /** The close code the cloud sent, or null when the bridge ended it or the socket just broke (1006). */
  peerCode: number | null;
  /** The largest tagged frame sent on it, if any. */
  largest: SentFrame | null;
}

export interface ConnEvents {
  ready(conn: Connection): void;
  inbound(conn: Connection, msg: Delivered): void;
  /** The socket is gone. */
  closed(conn: Connection, info: ClosedInfo): void;
}

/** The URL without query or credentials, for logs and labels (a cloud may put a secret in the query). */
export function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * Frames from a client are masked with a random key (RFC 6455 §5.3), so that an intermediary
 * reading clear text (a TLS-terminating proxy in front of the cloud, say) cannot be fooled by
 * payloads the cloud chose. Only to a loopback endpoint, and only where the operator opts in,
 * an all-zero mask (which ws recognizes and skips) saves an XOR pass over every answer.
 */
const zeroMask = (mask: Buffer) => {
  mask.fill(0);
};

/** ws options for the masking key: random (ws's default) unless zero masks are allowed here. */
function maskFor(url: string, loopbackZeroMask: boolean): { generateMask?: (mask: Buffer) => void } {
  return loopbackZeroMask && isLoopbackHost(new URL(url).hostname) ? { generateMask: zeroMask } : {};
}

/** Proof that the cloud read what was written is asked for at most this often (a ping, answered by a pong). */
export const PROOF_MS = 100;

const REASONS: Record<string, DisconnectReason> = {
  NBW_ERR_HEARTBEAT_TIMEOUT: 'heartbeat',
  NBW_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  NBW_ERR_CONNECT_REFUSED: 'refused',
};

export class Connection {
  /** Unique among all connections of the process, counting from 1. */
  readonly n: number;
  /** Index of the endpoint in its link's list (0: the preferred one). */
  readonly endpoint: number;
  readonly url: string;
  readonly label: string;
  #state: ConnState = 'connecting';
  readonly #ws: WebSocket;
  readonly #settings: ConnSettings;
  readonly #events: ConnEvents;
  readonly #heartbeat: Heartbeat;
  readonly #connectId = randomUUID().toUpperCase();
  #timer: NodeJS.Timeout | null = null;
  #lastError = '';
  #reason: DisconnectReason = 'closed';
  #corked = false;
  /** The bridge itself ended this connection (its close code is not the cloud's). */
  #endedByUs = false;
  /** A write failed: the socket is being torn down and nothing more is sent on it. */
  #writeFailed = false;
  #largest: SentFrame | null = null;
  /** Callbacks waiting for proof that the cloud read what was written before them, and those whose proof ping is out. */
  #toProve: (() => void)[] = [];
  #proving: (() => void)[] = [];
  #proofTimer: NodeJS.Timeout | null = null;
  /** The payload of the proof ping out (a pong echoes it: heartbeat pongs do not count as proof). */
  #proofToken: Buffer | null = null;
  #proofs = 0;

  constructor(n: number, endpoint: number, url: string, token: string, settings: ConnSettings, events: ConnEvents) {
    this.n = n;
    this.endpoint = endpoint;
    this.url = url;
    this.label = safeUrl(url);
    this.#settings = settings;
    this.#events = events;
    const log = settings.log;
    log.debug({ conn: n, url: this.label }, 'dialling the cloud endpoint');
    this.#report();
    const agent = proxyAgent(url, settings.proxy);
    const ws = new WebSocket(url, {
      handshakeTimeout: settings.connectTimeoutMs,
      perMessageDeflate: settings.perMessageDeflate,
      // Frames a little over the limit are still read so they can be answered 413; beyond this the socket closes (1009).
      maxPayload: settings.maxMessageBytes + Math.max(settings.maxMessageBytes, 1024 * 1024),
      followRedirects: false,
      headers: { 'user-agent': settings.userAgent },
      ...maskFor(url, settings.loopbackZeroMask),
      ...(settings.ca ? { ca: [...rootCertificates, settings.ca] } : {}),
      ...(agent ? { agent } : {}),
    });
    this.#ws = ws;
    this.#heartbeat = new Heartbeat(settings.heartbeatMs, {
      ping: () => ws.ping(),
      queued: () => ws.bufferedAmount,
      dead: () => {
        const missed = settings.maxMissedPongs + 1;
        this.fail(new LinkError('NBW_ERR_HEARTBEAT_TIMEOUT', `no pong from the cloud to ${missed} ping${missed > 1 ? 's' : ''} in a row, ${settings.heartbeatMs} ms apart`, CLOSE.normal), true);
      },
    }, settings.maxMissedPongs);

    ws.on('open', () => {
      this.#state = 'handshaking';
      this.#report();
      this.#heartbeat.start();
      ws.send(encodeConnectRequest(this.#connectId, token));
      this.#timer = setTimeout(
        () => this.fail(new LinkError('NBW_ERR_CONNECT_TIMEOUT', `no CONNECT RESPONSE within ${settings.connectTimeoutMs} ms`, CLOSE.normal), true),
        settings.connectTimeoutMs,
      );
    });
    ws.on('pong', (data) => {
      this.#heartbeat.seen();
      if (this.#proofToken !== null && data.equals(this.#proofToken)) this.#proven();
    });
    ws.on('message', (data, isBinary) => {
      // Nothing the cloud sends may throw out of here: ws would pass it up to the process.
      try {
        this.#onMessage(data as Buffer, isBinary);
      } catch (err) {
        log.error({ conn: n, err, code: 'NBW_ERR_INTERNAL' }, 'unexpected error handling a message from the cloud; it was dropped and the connection keeps serving');
      }
    });
    ws.on('error', (err) => {
      this.#lastError ||= (err as NodeJS.ErrnoException).code ?? err.message;
      if (this.#reason === 'closed') this.#reason = 'error';
    });
    ws.on('close', (code, reasonBuf) => {
      this.#heartbeat.stop();
      if (this.#proofTimer) clearTimeout(this.#proofTimer);
      this.#toProve = [];
      this.#proving = [];
      if (this.#timer) clearTimeout(this.#timer);
      const wasReady = this.#state === 'ready';
      this.#state = 'closed';
      this.#report();
      const reason = this.#lastError || `closed ${code}${reasonBuf.length ? ` ${reasonBuf.toString('utf8').slice(0, 123)}` : ''}`;
      if (wasReady) settings.telemetry.disconnected(settings.group, this.label, this.#reason);
      const peerCode = this.#endedByUs || code === CLOSE.abnormal ? null : code;
      this.#events.closed(this, { wasReady, reason, peerCode, largest: this.#largest });
    });
  }

  get state(): ConnState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === 'ready' && !this.#writeFailed && this.#ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /**
   * Sends a frame; false when the connection is not ready. Frames sent in the same turn of
   * the event loop leave in one write: the socket is corked at the first and uncorked once
   * the turn's I/O callbacks are done (setImmediate).
   *
   * A write that fails marks the connection failed at once (no longer ready, so nothing more
   * is sent on it) and tears the socket down; `done` gets the error and must not send again
   * from inside it. `tag` names the frame to the sender should the cloud refuse it as too big.
   */
  send(text: string, done?: (err?: Error) => void, tag?: unknown): boolean {
    if (!this.ready) return false;
    if (tag !== undefined && (this.#largest === null || text.length > this.#largest.bytes)) {
      // Characters, not bytes: the same order for the answers compared here, at no cost.
      this.#largest = { bytes: text.length, tag };
    }
    if (!this.#corked) {
      const socket = (this.#ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (socket) {
        socket.cork();
        this.#corked = true;
        setImmediate(() => {
          this.#corked = false;
          socket.uncork();
        });
      }
    }
    this.#ws.send(text, (err) => {
      if (err) this.#onWriteError(err);
      done?.(err ?? undefined);
    });
    return true;
  }

  /**
   * Calls `read` once the cloud has read everything written so far: a ping goes out after it
   * (at most one every PROOF_MS) and its pong, which the cloud can only send after reading what
   * came before, is the proof. Not called if the connection ends first.
   */
  awaitRead(read: () => void): boolean {
    if (!this.ready) return false;
    this.#toProve.push(read);
    this.#proofTimer ??= setTimeout(() => this.#sendProof(), PROOF_MS);
    return true;
  }

  #sendProof(): void {
    this.#proofTimer = null;
    if (this.#proving.length > 0 || this.#toProve.length === 0 || !this.ready) return;
    this.#proving = this.#toProve;
    this.#toProve = [];
    this.#proofToken = Buffer.from(`read-${++this.#proofs}`);
    this.#ws.ping(this.#proofToken);
  }

  #proven(): void {
    const done = this.#proving;
    this.#proving = [];
    this.#proofToken = null;
    for (const read of done) read();
    if (this.#toProve.length > 0) this.#proofTimer ??= setTimeout(() => this.#sendProof(), PROOF_MS);
  }

  #onWriteError(err: Error): void {
    if (this.#writeFailed) return;
    this.#writeFailed = true;
    this.#lastError ||= (err as NodeJS.ErrnoException).code ?? err.message;
    if (this.#reason === 'closed') this.#reason = 'error';
    this.#settings.log.warn({ conn: this.n, url: this.label, reason: this.#lastError }, 'writing to the cloud failed; dropping this connection');
    this.#endedByUs = true;
    this.#ws.terminate();
  }

  /** Ends this connection on the bridge's own decision; the close is reported with `err`. */
  fail(err: LinkError, terminate: boolean): void {
    this.#endedByUs = true;
    this.#lastError = err.code;
    this.#reason = REASONS[err.code] ?? 'closed';
    this.#settings.log.warn({ conn: this.n, url: this.label, code: err.code }, `${err.message}; reconnecting`);
    if (terminate) this.#ws.terminate();
    else this.#ws.close(err.closeCode, err.message.slice(0, 120));
  }

  /** Closes after every frame already sent; terminates if the peer does not answer the close in time. */
  close(code: number, reason: string, why: DisconnectReason, timeoutMs = 3000): Promise<void> {
    this.#reason = why;
    this.#endedByUs = true;
    if (this.#state === 'closed') return Promise.resolve();
    const ws = this.#ws;
    return new Promise<void>((resolve) => {
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

  #report(): void {
    const s = this.#state;
    this.#settings.telemetry.linkState(this.#settings.group, this.label, s === 'closed' ? 'idle' : s);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    const warn = this.#settings.warn;
    if (isBinary) {
      warn.warn(this.n, 'binary', { conn: this.n, code: 'NBW_ERR_FRAME_DROPPED', bytes: data.length }, 'dropped a binary frame: NBWSS messages are text');
      return;
    }
    const max = this.#settings.maxMessageBytes;
    const text = data.toString('utf8');
    const msg = data.length > max ? decodeOversized(text, data.length, max) : decodeFrame(text, this.#settings.maxJsonDepth);
    if (this.#state === 'handshaking') {
      if (msg.kind === 'connect-response' && msg.id === this.#connectId) {
        this.#onConnectResponse(msg.valid, msg.problem, msg.unusual);
        return;
      }
      warn.warn(
        this.n,
        'early',
        { conn: this.n, code: 'NBW_ERR_FRAME_DROPPED', kind: msg.kind, id: logId(msg.kind === 'command' ? msg.command.id : msg.id) },
        'dropped a message that arrived before the CONNECT was answered',
      );
      return;
    }
    if (this.#state !== 'ready') return;
    if (msg.kind === 'connect-response') {
      warn.warn(this.n, 'connect', { conn: this.n, code: 'NBW_ERR_FRAME_DROPPED', id: logId(msg.id) }, 'dropped a stray CONNECT RESPONSE');
      return;
    }
    this.#events.inbound(this, msg);
  }

  #onConnectResponse(valid: boolean, problem: string | undefined, unusual: string | undefined): void {
    if (this.#timer) clearTimeout(this.#timer);
    const s = this.#settings;
    if (!valid) {
      s.telemetry.refused(s.group, this.label);
      const why = problem ? `malformed CONNECT RESPONSE (${problem})` : 'the cloud refused the CONNECT (token not valid)';
      this.fail(new LinkError('NBW_ERR_CONNECT_REFUSED', why, CLOSE.normal), false);
      return;
    }
    if (unusual !== undefined && !s.noted.has(unusual)) {
      if (s.noted.size < 64) s.noted.add(unusual);
      s.log.warn({ conn: this.n, url: this.label, unusual }, 'the CONNECT RESPONSE differs from NetBackup\'s examples; taken as valid (payload.valid is true)');
    }
    this.#state = 'ready';
    this.#report();
    s.telemetry.connected(s.group, this.label);
    s.log.info({ conn: this.n, url: this.label }, 'connected to the cloud; serving commands');
    this.#events.ready(this);
  }
}
