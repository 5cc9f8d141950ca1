// One endpoint group's link to the cloud: one connection at a time to the reachable endpoint
// of highest priority, redialled with backoff from the best endpoint after a loss. As NetBackup
// does, a connected group stays where it is when a better endpoint comes back; with `failBack`
// it moves there once one answers. A connection that is replaced (a move, new endpoint details)
// stays open until the requests that arrived on it are answered on it.
import { EventEmitter } from 'node:events';
import type { ProxyConfig } from '../config/endpoints.js';
import type { Logger } from '../log/logger.js';
import { Backoff } from '../retry.js';
import { CLOSE, Connection, safeUrl, type ClosedInfo, type ConnEvents, type ConnSettings } from './connection.js';
import { closeWeight, connSettings, STABLE_MS, type LinkEndpoint, type LinkEvents, type LinkOptions, type LinkState } from './settings.js';
import { CODE } from '../errors.js';
import { DialEscalation } from './escalation.js';

export { CLOSE, safeUrl } from './connection.js';
export type { SentFrame } from './connection.js';
export { closeWeight, STABLE_MS, type LinkEndpoint, type LinkEvents, type LinkOptions, type LinkState } from './settings.js';

let connections = 0;

export class Link extends EventEmitter<LinkEvents> {
  readonly #opts: LinkOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #settings: ConnSettings;
  readonly #events: ConnEvents;
  #endpoints: readonly LinkEndpoint[];
  #current: Connection | null = null;
  #probe: Connection | null = null;
  /** The probe replaces a connection made with endpoint details that changed (not a fail-back). */
  #replacing = false;
  readonly #retiring = new Map<Connection, number>();
  #timer: NodeJS.Timeout | null = null;
  #stable: NodeJS.Timeout | null = null;
  #periodic: NodeJS.Timeout | null = null;
  #started = false;
  #stopped = false;
  /** When the better endpoints were last tried. */
  #lastTry = 0;
  readonly #escalation: DialEscalation;

  constructor(opts: LinkOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.log;
    this.#endpoints = opts.endpoints;
    this.#backoff = new Backoff(opts.reconnect);
    this.#settings = connSettings(opts);
    this.#escalation = new DialEscalation(opts.log, opts.escalation);
    this.#events = {
      ready: (c) => this.#onReady(c),
      inbound: (c, msg) => this.emit('inbound', msg, c.n),
      closed: (c, info) => this.#onClosed(c, info),
    };
  }

  get state(): LinkState {
    if (this.#stopped) return 'stopped';
    if (!this.#started) return 'idle';
    return this.#current?.ready ? 'ready' : 'connecting';
  }

  /** True while commands may be received and answers sent. */
  get ready(): boolean {
    return this.#current?.ready ?? false;
  }

  /** Number of the current connection (0 before the first). */
  get connection(): number {
    return this.#current?.n ?? 0;
  }

  /** The endpoint the current connection goes to. */
  get endpoint(): string | null {
    return this.#current?.label ?? null;
  }

  /** Bytes queued on the current connection's socket, not yet written. */
  get bufferedAmount(): number {
    return this.#current?.bufferedAmount ?? 0;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#dial(0);
    const period = this.#opts.periodMs ?? 60_000;
    this.#periodic = setInterval(() => {
      this.#tryBetter();
      this.#drainRetiring();
    }, Math.min(period, 1000));
    this.#lastTry = Date.now();
  }

  /**
   * Sends a frame on connection `prefer` if it is still open (a replaced connection finishing
   * its answers), else on the current one. Returns the number of the connection used, 0 if none.
   */
  send(text: string, done?: (err?: Error) => void, prefer?: number, tag?: unknown): number {
    if (prefer !== undefined && prefer !== this.#current?.n) {
      for (const c of this.#retiring.keys()) {
        if (c.n === prefer && c.send(text, done, tag)) {
          setImmediate(() => this.#drainRetiring());
          return c.n;
        }
      }
    }
    const c = this.#current;
    return c?.send(text, done, tag) ? c.n : 0;
  }

  /** Calls `read` once connection `connection` proves the cloud read what was written on it so far; false when it is gone. */
  awaitRead(connection: number, read: () => void): boolean {
    if (this.#current?.n === connection) return this.#current.awaitRead(read);
    for (const c of this.#retiring.keys()) if (c.n === connection) return c.awaitRead(read);
    return false;
  }

  /**
   * Takes a new endpoint list (a reload). If it differs, the next dial uses it; a ready
   * connection is replaced gracefully once a connection with the new details is ready.
   */
  updateEndpoints(endpoints: readonly LinkEndpoint[]): void {
    const same = endpoints.length === this.#endpoints.length && endpoints.every((e, i) => e.url === this.#endpoints[i]?.url && e.token === this.#endpoints[i]?.token);
    if (same) return;
    this.#endpoints = endpoints;
    if (this.#stopped || !this.#started) return;
    this.#log.info({ endpoints: endpoints.length }, 'endpoint details changed; dialling with the new ones');
    if (this.#current?.ready) {
      this.#probe?.close(CLOSE.goingAway, 'endpoint details changed', 'replaced');
      this.#replacing = true;
      this.#probe = this.#probeFrom(0);
    }
  }

  /** Takes a new CA and proxy (a reload); they apply from the next dial. */
  updateDialSettings(ca: string | null, proxy: ProxyConfig | null): void {
    this.#settings.ca = ca;
    this.#settings.proxy = proxy;
  }

  /** Closes every connection with 1001 (after frames already sent) and stops dialling. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#stable) clearTimeout(this.#stable);
    if (this.#periodic) clearInterval(this.#periodic);
    this.#settings.warn.flush();
    const all = [this.#current, this.#probe, ...this.#retiring.keys()].filter((c): c is Connection => c !== null);
    await Promise.all(all.map((c) => c.close(CLOSE.goingAway, 'bridge shutting down', 'stopped')));
  }

  #connect(index: number): Connection {
    const ep = this.#endpoints[index] as LinkEndpoint;
    return new Connection(++connections, index, ep.url, ep.token, this.#settings, this.#events);
  }

  /**
   * A probe to the first endpoint from `index` the client agrees to dial: up to the end of the
   * list for new endpoint details, up to the endpoint in use for a fail-back. Null when none.
   */
  #probeFrom(index: number): Connection | null {
    const end = this.#replacing ? this.#endpoints.length : (this.#current?.endpoint ?? 0);
    for (let i = index; i < end; i++) {
      const c = this.#tryConnect(i);
      if (c) return c;
    }
    this.#replacing = false;
    return null;
  }

  /** A connection to a better endpoint, or null (logged) when the client refuses to dial it. */
  #tryConnect(index: number): Connection | null {
    try {
      return this.#connect(index);
    } catch (err) {
      this.#log.error({ url: safeUrl((this.#endpoints[index] as LinkEndpoint).url), reason: (err as Error).message, code: CODE.NBW_ERR_ENDPOINT_UNUSABLE }, 'cannot dial this cloud endpoint');
      return null;
    }
  }

  #dial(index: number): void {
    // A probe that became ready while this redial waited is the connection now.
    if (this.#stopped || this.#current) return;
    try {
      this.#current = this.#connect(index);
    } catch (err) {
      // An endpoint the WebSocket client will not even dial (a URL it refuses): try the next after the backoff.
      this.#current = null;
      const next = (index + 1) % this.#endpoints.length;
      const delay = this.#backoff.next();
      this.#log.error(
        { url: safeUrl((this.#endpoints[index] as LinkEndpoint).url), reason: (err as Error).message, retryInMs: delay, code: CODE.NBW_ERR_ENDPOINT_UNUSABLE },
        'cannot dial this cloud endpoint; trying again later',
      );
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#dial(next);
      }, delay);
    }
  }

  /** The backoff starts over only once a connection has stayed ready for stableMs: a cloud that accepts and then closes at once is not redialled ever faster. */
  #watchStable(): void {
    if (this.#stable) clearTimeout(this.#stable);
    this.#stable = setTimeout(() => {
      this.#stable = null;
      this.#backoff.reset();
    }, this.#opts.stableMs ?? STABLE_MS);
    this.#stable.unref();
  }

  #onReady(c: Connection): void {
    if (c === this.#probe) {
      this.#probe = null;
      this.#replacing = false;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      const old = this.#current;
      this.#current = c;
      this.#watchStable();
      if (old) {
        this.#retiring.set(old, Date.now());
        this.#log.info({ from: old.label, to: c.label }, 'moved to a preferred endpoint; the old connection closes once its answers are out');
        this.emit('down', { connection: old.n, reason: 'replaced' });
      }
      this.emit('ready', { connection: c.n });
      this.#drainRetiring();
      return;
    }
    if (c !== this.#current) return;
    this.#escalation.ready();
    this.#watchStable();
    this.#lastTry = Date.now();
    this.emit('ready', { connection: c.n });
  }

  #onClosed(c: Connection, info: ClosedInfo): void {
    const { wasReady, reason, peerCode } = info;
    // Whatever a listener does, the redial below must happen.
    if (wasReady) this.#emitSafely('closed', { connection: c.n, peerCode, largest: info.largest });
    if (this.#retiring.delete(c)) return;
    if (c === this.#probe) {
      this.#probe = null;
      // New endpoint details are tried in order until one answers; a fail-back only up to the endpoint in use.
      if (!this.#stopped && this.#current?.ready && (this.#replacing || this.#opts.failBack === true)) this.#probe = this.#probeFrom(c.endpoint + 1);
      else this.#replacing = false;
      return;
    }
    if (c !== this.#current) return;
    this.#current = null;
    if (this.#stable) clearTimeout(this.#stable);
    this.#stable = null;
    if (wasReady) this.#emitSafely('down', { connection: c.n, reason });
    if (this.#stopped) return;
    // After losing a ready connection start again from the best endpoint; after a failed dial, try the next one.
    const next = wasReady ? 0 : (c.endpoint + 1) % this.#endpoints.length;
    const delay = this.#backoff.next(closeWeight(peerCode));
    const fields = {
      conn: c.n, url: c.label, reason, ...(peerCode !== null ? { closeCode: peerCode } : {}),
      retryInMs: delay, attempt: this.#backoff.attempt, next: safeUrl((this.#endpoints[next] as LinkEndpoint).url),
    };
    if (wasReady || !info.failure) this.#log.warn(fields, 'cloud connection lost; reconnecting');
    else this.#escalation.failed(fields, info.failure);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#dial(next);
    }, delay);
  }

  #emitSafely<K extends 'closed' | 'down'>(event: K, info: LinkEvents[K][0]): void {
    try {
      (this.emit as (e: K, i: LinkEvents[K][0]) => boolean)(event, info);
    } catch (err) {
      this.#log.error({ err, code: CODE.NBW_ERR_INTERNAL, event }, 'unexpected error handling the end of a connection; redialling all the same');
    }
  }

  /** With failBack, every connection.periodMs a group on a lower-priority endpoint tries its best one. */
  #tryBetter(): void {
    const c = this.#current;
    if (!this.#opts.failBack || this.#stopped || this.#probe || !c?.ready || c.endpoint === 0) return;
    if (Date.now() - this.#lastTry < (this.#opts.periodMs ?? 60_000)) return;
    this.#lastTry = Date.now();
    this.#probe = this.#probeFrom(0);
  }

  /** Closes replaced connections once nothing is pending on them (or they waited long enough). */
  #drainRetiring(): void {
    const pendingOn = this.#opts.pendingOn ?? (() => 0);
    const limit = this.#opts.drainTimeoutMs ?? 130_000;
    for (const [c, since] of this.#retiring) {
      if (pendingOn(c.n) > 0 && Date.now() - since < limit) continue;
      if (c.bufferedAmount > 0 && Date.now() - since < limit) continue;
      void c.close(CLOSE.goingAway, 'replaced by a preferred endpoint', 'replaced');
    }
  }
}

