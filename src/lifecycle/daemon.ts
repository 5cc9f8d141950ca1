// The daemon: opens the state, builds the parts in order (queue → store → backends → commands →
// one link, courier and outbox per endpoint group → metrics), wires them, and stops them in
// reverse with a grace period for calls in flight.
import { groupEndpoints } from '../config/endpoints.js';
import type { Config } from '../config/load.js';
import { USER_AGENT } from '../constants.js';
import { AnsweredError, ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { CommandService } from '../bridge/commands.js';
import { Courier } from '../bridge/courier.js';
import { Link, safeUrl } from '../link/link.js';
import { PrometheusTelemetry } from '../metrics/prometheus.js';
import { MetricsServer, type Readiness } from '../metrics/server.js';
import { NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import { CommandQueue } from '../queue/queue.js';
import { Router } from '../backends/router.js';
import { IdStore } from '../state/idstore.js';
import { Journal, type JournalRecord } from '../state/journal.js';
import { Outbox } from '../state/outbox.js';
import { NbApi } from '../notifications/nbapi.js';
import { Notifier } from '../notifications/notifier.js';
import { applyReload } from './reload.js';

/** One endpoint group: its link, and where its answers wait while it is down. */
export interface Group {
  readonly name: string;
  readonly link: Link;
  readonly outbox: Outbox;
  readonly courier: Courier;
}

export class Daemon {
  #config: Config;
  readonly #log: Logger;
  readonly #journal: Journal | null;
  /** The backends and the routes to them (replaced whole by a reload that changes them). */
  router: Router;
  readonly queue: CommandQueue;
  readonly store: IdStore;
  readonly commands: CommandService;
  readonly groups: ReadonlyMap<string, Group>;
  readonly telemetry: Telemetry;
  readonly #metrics: MetricsServer | null;
  /** Pushes job and image notifications, when they are on. */
  notifier: Notifier | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;

  /**
   * Opens the daemon's state (the journal in state.dir, if set) and builds it. A state dir that
   * cannot be used is a ConfigError naming state.dir.
   */
  static async open(config: Config, log: Logger): Promise<Daemon> {
    let journal: Journal | null = null;
    let records: JournalRecord[] = [];
    if (config.state.dir !== null) {
      try {
        ({ journal, records } = await Journal.open(config.state.dir, log.child({ mod: 'state' })));
      } catch (err) {
        throw new ConfigError([`state.dir: cannot use ${config.state.dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
      }
    }
    const daemon = new Daemon(config, log, journal);
    if (journal) {
      const { migrated, ...restored } = daemon.store.restore(records, daemon.groups.keys());
      await daemon.store.compact();
      const slog = log.child({ mod: 'state' });
      slog.info({ dir: config.state.dir, ...restored }, 'state restored from the journal');
      if (migrated > 0) slog.info({ records: migrated }, 'journal records of an earlier version read and rewritten with their endpoint group');
    }
    const n = config.notifications;
    if ((n.jobs || n.images) && config.state.dir !== null && n.apiKey !== null) {
      const nlog = log.child({ mod: 'notifications' });
      daemon.notifier = await Notifier.open({
        config: n,
        api: new NbApi({ baseUrl: config.rest.baseUrl, ca: config.rest.ca, apiKey: n.apiKey, timeoutMs: config.rest.timeoutMs, log: nlog }),
        stateDir: config.state.dir,
        groups: new Map([...daemon.groups].map(([name, g]) => [name, g.link])),
        log: nlog,
        telemetry: daemon.telemetry,
      });
    }
    return daemon;
  }

  private constructor(config: Config, log: Logger, journal: Journal | null) {
    if (config.cloud.endpoints.length === 0) {
      throw new TypeError('the daemon needs at least one cloud endpoint; loadConfig({ purpose: "run" }) checks that');
    }
    this.#config = config;
    this.#log = log;
    this.#journal = journal;
    this.queue = new CommandQueue(config.queue);
    this.store = new IdStore({ ...config.dedupe, journal, log: log.child({ mod: 'state' }) });
    const outboxes: Outbox[] = [];
    let prometheus: PrometheusTelemetry | null = null;
    if (config.metrics.listen !== null) {
      prometheus = new PrometheusTelemetry({
        queueWaiting: () => this.queue.waiting,
        queueRunning: () => this.queue.running,
        outboxBytes: () => outboxes.reduce((n, o) => n + o.bytes, 0),
        storeIds: () => this.store.size,
        storeBytes: () => this.store.bytes,
        notificationsPending: () => this.notifier?.pendingRecords ?? 0,
      });
    }
    this.telemetry = prometheus ?? NO_TELEMETRY;
    this.router = new Router(config.backends, config.queue.concurrency, log.child({ mod: 'backends' }), this.telemetry);
    this.commands = new CommandService({
      routes: this.router,
      queue: this.queue,
      store: this.store,
      log: log.child({ mod: 'commands' }),
      telemetry: this.telemetry,
      extensions: config.protocol.extensions,
    });
    const groups = new Map<string, Group>();
    for (const [name, endpoints] of groupEndpoints(config.cloud.endpoints)) {
      const link = new Link({
        group: name,
        endpoints,
        ca: config.cloud.ca,
        connectTimeoutMs: config.cloud.connectTimeoutMs,
        heartbeatMs: config.heartbeat.intervalMs,
        maxMissedPongs: config.heartbeat.maxMissedPongs,
        reconnect: config.reconnect,
        periodMs: config.connection.periodMs,
        failBack: config.connection.failBack,
        maxMessageBytes: config.cloud.maxMessageBytes,
        maxJsonDepth: config.cloud.maxJsonDepth,
        perMessageDeflate: config.cloud.perMessageDeflate,
        userAgent: USER_AGENT,
        proxy: config.cloud.proxy,
        loopbackZeroMask: config.cloud.loopbackZeroMask,
        log: log.child({ mod: 'link', group: name }),
        telemetry: this.telemetry,
        pendingOn: (n) => this.commands.pendingOn(n),
        drainTimeoutMs: config.rest.timeoutMs + 10_000,
      });
      const outbox = new Outbox(config.outbox.maxBytes);
      outboxes.push(outbox);
      const courier = new Courier({
        outlet: link,
        outbox,
        store: this.store,
        // A group whose cloud reads slowly holds back its own calls only.
        throttle: { pause: () => this.queue.pause(name), resume: () => this.queue.resume(name) },
        maxBufferedBytes: config.cloud.maxBufferedBytes,
        extensions: config.protocol.extensions,
        log: log.child({ mod: 'courier', group: name }),
        telemetry: this.telemetry,
      });
      link.on('inbound', (msg, connection) => {
        if (msg.kind === 'notification-response' && this.notifier) this.notifier.ack(name, msg.id);
        else this.commands.handle(msg, { group: name, connection, answers: courier });
      });
      link.on('ready', () => {
        courier.flush();
        this.notifier?.connected(name);
      });
      link.on('down', () => courier.down());
      link.on('closed', (info) => courier.closed(info));
      groups.set(name, { name, link, outbox, courier });
    }
    this.groups = groups;
    this.#metrics = prometheus && config.metrics.listen !== null
      ? new MetricsServer({
          listen: config.metrics.listen,
          readiness: () => this.readiness(),
          metrics: () => prometheus.metrics(),
          contentType: prometheus.contentType,
          log: log.child({ mod: 'metrics' }),
        })
      : null;
  }

  /** The configuration in force (the latest one a reload accepted). */
  get config(): Config {
    return this.#config;
  }

  /** The first group's link (the only one in a single-endpoint setup). */
  get link(): Link {
    return (this.groups.values().next().value as Group).link;
  }

  /** The first group's courier. */
  get courier(): Courier {
    return (this.groups.values().next().value as Group).courier;
  }

  /** Ready while at least one group has a connection whose CONNECT was answered valid:true. */
  readiness(): Readiness {
    const states = [...this.groups.values()].map((g) => `group ${g.name}: ${g.link.ready ? `connected to ${g.link.endpoint}` : 'not connected'}`);
    const ready = [...this.groups.values()].some((g) => g.link.ready);
    if (this.#stopping) return { ready: false, reason: 'shutting down' };
    return { ready, reason: ready ? states.join('; ') : `no cloud connection has its CONNECT answered valid:true (${states.join('; ')})` };
  }

  /** Starts the metrics listener (if configured) and dials every group. */
  async start(): Promise<void> {
    const c = this.#config;
    this.#log.info(
      {
        endpoints: c.cloud.endpoints.map((e) => ({ group: e.group, priority: e.priority, url: safeUrl(e.url) })),
        proxy: c.cloud.proxy ? (c.cloud.proxy.fromEnvironment ? 'from HTTPS_PROXY' : 'cloud.proxy') : null,
        backends: c.backends.map((b) => ({ name: b.name, mount: b.mount, baseUrl: b.baseUrl, auth: b.auth.type, allowedPaths: b.allowedPaths })),
        concurrency: c.queue.concurrency,
        maxPending: c.queue.maxPending,
        stateDir: c.state.dir,
        metrics: c.metrics.listen,
        configFile: c.configFile,
      },
      'nbwss-bridge starting',
    );
    if (this.#metrics) {
      try {
        await this.#metrics.start();
      } catch (err) {
        throw new ConfigError([`metrics.listen: cannot listen on ${c.metrics.listen}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
      }
    }
    this.#sweeper = setInterval(() => this.store.sweep(), Math.min(c.dedupe.ttlMs / 2, 30_000));
    this.#sweeper.unref();
    for (const g of this.groups.values()) g.link.start();
    this.notifier?.start();
  }

  /** Where the metrics listener listens ('' when off). */
  get metricsAddress(): string {
    return this.#metrics?.address ?? '';
  }

  /**
   * Takes a new configuration without dropping calls in flight (SIGHUP): tokens and endpoints
   * take effect on the next dial, policy, REST settings and the log level at once. Returns the
   * keys that only a restart applies.
   */
  reload(next: Config): string[] {
    const needsRestart = applyReload(this, this.#config, next, this.#log);
    this.#config = next;
    return needsRestart;
  }

  /** @internal used by reload: swaps the router; the old one logs out and closes once its calls finish. */
  replaceRouter(next: Router): void {
    const old = this.router;
    this.router = next;
    this.commands.reconfigure(next);
    void old.close();
  }

  /**
   * Stops taking requests (503), lets calls in flight finish within shutdown.graceMs and
   * sends their answers, aborts what is left, closes every socket with 1001. Idempotent.
   */
  stop(reason = 'signal'): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    const graceMs = this.#config.shutdown.graceMs;
    this.#log.info({ reason, running: this.queue.running, waiting: this.queue.waiting, graceMs }, 'stopping: new requests are answered 503');
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.commands.stopAccepting();
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      this.queue.onIdle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (expired) {
      this.#log.warn({ running: this.queue.running, graceMs }, 'grace period over; aborting REST calls still running');
      this.router.abortAll(
        new AnsweredError('NBW_ERR_REST_TIMEOUT', `the bridge shut down while the REST call was running (after ${graceMs} ms grace); its outcome is unknown`),
      );
      await this.queue.onIdle();
    }
    const held = [...this.groups.values()].reduce((n, g) => n + g.outbox.size, 0);
    if (held > 0) {
      this.#log.warn({ answers: held }, 'no connection to send held answers on; with state.dir they are kept for resends after the restart');
    }
    await this.notifier?.stop();
    await Promise.all([...this.groups.values()].map((g) => g.link.stop()));
    await this.#metrics?.stop();
    await this.router.close();
    await this.#journal?.close();
    this.#log.info('stopped');
  }
}
