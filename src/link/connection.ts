// One WebSocket connection to one cloud endpoint: dial (directly or through the proxy), the
// CONNECT handshake, heartbeat, frames in and out. The Link decides which to dial and when.
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { CODE, LinkError } from '../errors.js';
import { logId } from '../log/fields.js';
import type { WarnLimiter } from '../log/limiter.js';
import type { Logger } from '../log/logger.js';
import type { DisconnectReason, Telemetry } from '../metrics/telemetry.js';
import { encodeConnectRequest } from '../protocol/encode.js';
import { checkUnchecked } from '../protocol/check.js';
import { decodeOversized, readFrame, type Delivered, type Inbound } from '../protocol/read.js';
import { CLOSE, REASONS, safeUrl, type ClosedInfo, type SentFrame } from './ending.js';
import { classifyDial } from './cause.js';
import { openSocket, type DialSettings } from './dial.js';
import { viaProxy } from './proxy.js';
import { Heartbeat } from './heartbeat.js';
import { ReadProof } from './proof.js';

export { PROOF_MS } from './proof.js';
export { CLOSE, safeUrl, type ClosedInfo, type SentFrame };

export type ConnState = 'connecting' | 'handshaking' | 'ready' | 'closed';

/** What every connection of a link shares. */
export interface ConnSettings extends DialSettings {
  group: string;
  heartbeatMs: number;
  /** Pings in a row that may go without a pong before the connection is given up. */
  maxMissedPongs: number;
  /** Deepest JSON nesting accepted from the cloud. */
  maxJsonDepth: number;
  log: Logger;
  /** Warnings the cloud can cause at will, limited per connection and kind. */
  warn: WarnLimiter;
  /** Oddities of the cloud already logged once (an unusual CONNECT RESPONSE). */
  noted: Set<string>;
  telemetry: Telemetry;
}

export interface ConnEvents {
  ready(conn: Connection): void;
  inbound(conn: Connection, msg: Delivered): void;
  /** The socket is gone. */
  closed(conn: Connection, info: ClosedInfo): void;
}

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
  /** Proofs that the cloud read what was written. */
  readonly #proof: ReadProof;

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
    let proxyStatus: number | null = null;
    const ws = openSocket(url, settings, (status) => (proxyStatus = status));
    this.#ws = ws;
    this.#proof = new ReadProof((token) => ws.ping(token), () => this.ready);
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
      this.#proof.pong(data);
    });
    ws.on('message', (data, isBinary) => {
      // Nothing the cloud sends may throw out of here: ws would pass it up to the process.
      try {
        this.#onMessage(data as Buffer, isBinary);
      } catch (err) {
        log.error({ conn: n, err, code: CODE.NBW_ERR_INTERNAL }, 'unexpected error handling a message from the cloud; it was dropped and the connection keeps serving');
      }
    });
    ws.on('error', (err) => {
      this.#lastError ||= (err as NodeJS.ErrnoException).code ?? err.message;
      if (this.#reason === 'closed') this.#reason = 'error';
    });
    ws.on('close', (code, reasonBuf) => {
      this.#heartbeat.stop();
      this.#proof.clear();
      if (this.#timer) clearTimeout(this.#timer);
      const wasReady = this.#state === 'ready';
      this.#state = 'closed';
      this.#report();
      const reason = this.#lastError || `closed ${code}${reasonBuf.length ? ` ${reasonBuf.toString('utf8').slice(0, 123)}` : ''}`;
      const peerCode = this.#endedByUs || code === CLOSE.abnormal ? null : code;
      if (wasReady) {
        settings.telemetry.disconnected(settings.group, this.label, this.#reason);
        this.#events.closed(this, { wasReady, reason, peerCode, largest: this.#largest });
        return;
      }
      const proxy = settings.proxy && viaProxy(url, settings.proxy) ? safeUrl(settings.proxy.url) : null;
      const failure = classifyDial({ error: reason, host: new URL(url).host, proxy, proxyStatus, caKey: 'cloud.caFile' });
      settings.telemetry.dialFailed(settings.group, this.label, failure.reason);
      this.#events.closed(this, { wasReady, reason, peerCode, largest: this.#largest, failure });
    });
  }

  get state(): ConnState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === 'ready' && !this.#writeFailed && this.#ws.readyState === this.#ws.OPEN;
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
    this.#proof.await(read);
    return true;
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
    // Before the connection was ready, the link's line on the failed dial says it (with the fix).
    this.#settings.log[this.#state === 'ready' ? 'warn' : 'debug']({ conn: this.n, url: this.label, code: err.code }, `${err.message}; reconnecting`);
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
      if (ws.readyState === ws.CONNECTING) ws.terminate();
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
      warn.warn(this.n, 'binary', { conn: this.n, code: CODE.NBW_ERR_FRAME_DROPPED, bytes: data.length }, 'dropped a binary frame: NBWSS messages are text');
      return;
    }
    const max = this.#settings.maxMessageBytes;
    const text = data.toString('utf8');
    const msg = data.length > max ? decodeOversized(text, data.length, max) : readFrame(text, this.#settings.maxJsonDepth);
    if (this.#state === 'handshaking') {
      if (msg.kind === 'connect-response' && msg.id === this.#connectId) {
        this.#onConnectResponse(msg.valid, msg.problem, msg.unusual);
        return;
      }
      const early = { conn: this.n, code: CODE.NBW_ERR_FRAME_DROPPED, kind: msg.kind === 'unchecked' ? 'command' : msg.kind, id: logId(msg.kind === 'command' ? msg.command.id : msg.id) };
      warn.warn(this.n, 'early', early, 'dropped a message that arrived before the CONNECT was answered');
      return;
    }
    if (this.#state !== 'ready') return;
    if (msg.kind === 'connect-response') {
      warn.warn(this.n, 'connect', { conn: this.n, code: CODE.NBW_ERR_FRAME_DROPPED, id: logId(msg.id) }, 'dropped a stray CONNECT RESPONSE');
      return;
    }
    if (msg.kind !== 'unchecked') return this.#events.inbound(this, msg);
    const checked = checkUnchecked(msg);
    if (checked instanceof Promise) this.#later(checked, msg.id);
    else this.#events.inbound(this, checked as Delivered);
  }

  /** A request read while the connection was ready, checked once the schema is loaded: served even if the connection closed meanwhile (the courier holds its answer). */
  #later(checked: Promise<Inbound>, id: string): void {
    checked.then((m) => this.#events.inbound(this, m as Delivered)).catch((err: unknown) => {
      this.#settings.log.error({ conn: this.n, id: logId(id), err, code: CODE.NBW_ERR_INTERNAL }, 'unexpected error handling a message from the cloud; it was dropped and the connection keeps serving');
    });
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
