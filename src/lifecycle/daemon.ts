// The daemon: builds its parts, then starts them in order, reloads them and stops them in
// reverse (see parts.ts). The list, first to last: dedupe (the journal closes last), metrics
// (still answering while calls drain), backends, the dispatcher of inbound messages, groups
// (link + courier + outbox per endpoint group), notifications, and commands: stopped first,
// its stop is the drain (new requests answered 503 at once; answers go out before the links
// close). Optional parts are in the list or not.
import { startSummary, type Config } from '../config/load.js';
import { groupEndpoints } from '../config/endpoints.js';
import type { Logger } from '../log/logger.js';
import type { Link } from '../link/link.js';
import { BackendsPart } from '../backends/part.js';
import { CommandsPart } from '../bridge/commands-part.js';
import type { Courier } from '../bridge/courier.js';
import { Dispatcher } from '../bridge/dispatch.js';
import { GroupsPart, type Group } from '../bridge/groups.js';
import { DedupePart } from '../dedupe/part.js';
import type { IdStore } from '../dedupe/idstore.js';
import type { MetricsPart, Readiness } from '../metrics/part.js';
import { METRICS_RESTART_ONLY, NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import { NOTIFICATIONS_RESTART_ONLY, notificationsWanted } from '../notifications/keys.js';
import type { Notifier } from '../notifications/notifier.js';
import type { NotificationsPart } from '../notifications/part.js';
import { dormant, type Part } from '../part.js';
import type { CommandQueue } from '../queue/queue.js';
import { reloadAll, startAll, stopAll } from './parts.js';

export type { Group };
export class Daemon {
  #config: Config;
  readonly #root: Logger; // its level is the one a reload sets
  readonly #log: Logger; // the daemon's own lines (mod: daemon)
  readonly #parts: readonly Part[];
  readonly #groups: GroupsPart;
  readonly #backends: BackendsPart;
  readonly #commands: CommandsPart;
  readonly #metrics: MetricsPart | null; readonly #notifications: NotificationsPart | null;
  readonly store: IdStore;
  #stopping: Promise<void> | null = null;

  /** Builds the daemon; a state dir or metrics address that cannot be used is a ConfigError naming it. */
  static async open(config: Config, log: Logger): Promise<Daemon> {
    if (config.cloud.endpoints.length === 0) {
      throw new TypeError('the daemon needs at least one cloud endpoint; loadConfig({ purpose: "run" }) checks that');
    }
    const dedupe = await DedupePart.open(config, groupEndpoints(config.cloud.endpoints).keys(), log.child({ mod: 'state' }));
    // Metric sources and readiness are read on a request to the listener, which starts once every part is built. Optional parts are loaded only when on.
    const metrics: MetricsPart | null = config.metrics.listen === null ? null : new (await import('../metrics/part.js')).MetricsPart(config.metrics.listen, {
      queueWaiting: () => commands.queue.waiting,
      queueRunning: () => commands.queue.running,
      outboxBytes: () => groups.outboxBytes,
      storeIds: () => dedupe.store.size,
      storeBytes: () => dedupe.store.bytes,
      notificationsPending: () => notifications?.pendingRecords ?? 0,
    }, (): Readiness => daemon.readiness(), log.child({ mod: 'metrics' }));
    const telemetry: Telemetry = metrics?.telemetry ?? NO_TELEMETRY;
    const backends: BackendsPart = new BackendsPart(config, log.child({ mod: 'backends' }), telemetry);
    const commands: CommandsPart = new CommandsPart({ config, routes: backends, store: dedupe.store, log: log.child({ mod: 'commands' }), telemetry });
    const dispatcher = new Dispatcher(log.child({ mod: 'commands' }))
      .on('command', (m, ch) => commands.handle(m, ch))
      .on('invalid', (m, ch) => commands.handle(m, ch));
    const groups = new GroupsPart({ config, dispatcher, store: dedupe.store, queue: commands.queue, pendingOn: (n) => commands.pendingOn(n), log, telemetry });
    let notifications: NotificationsPart | null = null;
    if (notificationsWanted(config)) {
      const { NotificationsPart } = await import('../notifications/part.js');
      const links = new Map([...groups.groups].map(([name, g]) => [name, g.link]));
      notifications = await NotificationsPart.open({ config, groups: links, log: log.child({ mod: 'notifications' }), telemetry });
      const n = notifications;
      dispatcher.on('notification-response', (m, ch) => n.ack(ch.group, m.id));
    }
    const parts: Part[] = [
      dedupe,
      metrics ?? dormant('metrics', METRICS_RESTART_ONLY),
      backends,
      dispatcher,
      groups,
      notifications ?? dormant('notifications', NOTIFICATIONS_RESTART_ONLY),
      commands,
    ];
    const daemon: Daemon = new Daemon(config, log, parts, { groups, backends, commands, metrics, notifications, store: dedupe.store, telemetry });
    return daemon;
  }

  private constructor(config: Config, log: Logger, parts: Part[], p: Pick<Daemon, 'store' | 'telemetry'> & { groups: GroupsPart; backends: BackendsPart; commands: CommandsPart; metrics: MetricsPart | null; notifications: NotificationsPart | null }) {
    [this.#config, this.#root, this.#log, this.#parts, this.store, this.telemetry] = [config, log, log.child({ mod: 'daemon' }), parts, p.store, p.telemetry];
    [this.#groups, this.#backends, this.#commands, this.#metrics, this.#notifications] = [p.groups, p.backends, p.commands, p.metrics, p.notifications];
  }

  readonly telemetry: Telemetry;
  /** The configuration in force (the latest one a reload accepted). */
  get config(): Config { return this.#config; }
  get queue(): CommandQueue { return this.#commands.queue; }
  get groups(): ReadonlyMap<string, Group> { return this.#groups.groups; }
  /** The first group's link and courier (the only ones in a single-endpoint setup). */
  get link(): Link { return (this.groups.values().next().value as Group).link; }
  get courier(): Courier { return (this.groups.values().next().value as Group).courier; }
  /** Pushes job and image notifications, when they are on. */
  get notifier(): Notifier | null { return this.#notifications?.notifier ?? null; }
  /** Where the metrics listener listens ('' when off). */
  get metricsAddress(): string { return this.#metrics?.address ?? ''; }

  /** Ready while a group has a connection whose CONNECT was answered valid:true and every REST API answers its probe. */
  readiness(): Readiness {
    if (this.#stopping) return { ready: false, reason: 'shutting down' };
    const [states, rest] = [this.#groups.describe(), this.#backends.health()];
    if (!this.#groups.ready) return { ready: false, reason: `cloud down: no connection has its CONNECT answered valid:true (${states}); ${rest.reason}` };
    return { ready: rest.up, reason: `${rest.up ? '' : 'REST down: '}${states}; ${rest.reason}` };
  }

  /** Starts every part in order: the metrics listener, then every group dials. */
  async start(): Promise<void> {
    this.#log.info({ ...startSummary(this.#config), parts: this.#parts.filter((p) => p.start).map((p) => p.name) }, 'nbwss-bridge starting');
    await startAll(this.#parts, this.#log);
  }

  /**
   * Takes a new configuration without dropping calls in flight (SIGHUP): tokens and endpoints
   * take effect on the next dial, policy, REST settings and the log level at once. Returns the
   * keys that only a restart applies.
   */
  reload(next: Config): string[] {
    const prev = this.#config;
    // The log format is the CLI's choice of output stream, made once at start.
    const needsRestart = [...reloadAll(this.#parts, prev, next), ...(prev.log.format !== next.log.format ? ['log.format'] : [])];
    this.#config = next;
    this.#log.info(
      { logLevel: next.log.level, ...(needsRestart.length ? { needsRestart } : {}) },
      needsRestart.length ? 'configuration reloaded; some changes need a restart to apply' : 'configuration reloaded',
    );
    // Children follow their root's level in pino, so this reaches every module's logger.
    if (prev.log.level !== next.log.level) this.#root.level = next.log.level;
    return needsRestart;
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
    const order = this.#parts.filter((p) => p.stop).map((p) => p.name).reverse();
    this.#log.info({ reason, running: this.queue.running, waiting: this.queue.waiting, graceMs: this.#config.shutdown.graceMs, order }, 'stopping: new requests are answered 503');
    await stopAll(this.#parts, this.#log);
    this.#log.info('stopped');
  }
}
