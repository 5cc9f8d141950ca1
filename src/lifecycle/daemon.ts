// The daemon: opens the state, builds the parts in order (rest → queue → store → courier →
// commands → link), wires them, and stops them in reverse with a grace period for calls in flight.
import type { Config } from '../config/load.js';
import { USER_AGENT } from '../constants.js';
import { AnsweredError, ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { CommandService } from '../bridge/commands.js';
import { Courier } from '../bridge/courier.js';
import { Link, safeUrl } from '../link/link.js';
import { Policy } from '../policy/allow.js';
import { CommandQueue } from '../queue/queue.js';
import { RestClient } from '../rest/client.js';
import { IdStore } from '../state/idstore.js';
import { Journal, type JournalRecord } from '../state/journal.js';
import { Outbox } from '../state/outbox.js';

export class Daemon {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #journal: Journal | null;
  readonly rest: RestClient;
  readonly queue: CommandQueue;
  readonly store: IdStore;
  readonly outbox: Outbox;
  readonly courier: Courier;
  readonly commands: CommandService;
  readonly link: Link;
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
      const restored = daemon.store.restore(records);
      await daemon.store.compact();
      log.child({ mod: 'state' }).info({ dir: config.state.dir, ...restored }, 'state restored from the journal');
    }
    return daemon;
  }

  private constructor(config: Config, log: Logger, journal: Journal | null) {
    if (config.cloud.url === null || config.cloud.token === null) {
      throw new TypeError('the daemon needs cloud.url and a token; loadConfig({ purpose: "run" }) checks both');
    }
    this.#config = config;
    this.#log = log;
    this.#journal = journal;
    this.rest = new RestClient({
      baseUrl: config.rest.baseUrl,
      ca: config.rest.ca,
      timeoutMs: config.rest.timeoutMs,
      maxResponseBytes: config.rest.maxResponseBytes,
      connections: config.queue.concurrency,
    });
    this.queue = new CommandQueue(config.queue);
    this.store = new IdStore({ ...config.dedupe, journal, log: log.child({ mod: 'state' }) });
    this.link = new Link({
      url: config.cloud.url,
      token: config.cloud.token,
      ca: config.cloud.ca,
      connectTimeoutMs: config.cloud.connectTimeoutMs,
      heartbeatMs: config.heartbeat.intervalMs,
      reconnect: config.reconnect,
      maxMessageBytes: config.cloud.maxMessageBytes,
      perMessageDeflate: config.cloud.perMessageDeflate,
      userAgent: USER_AGENT,
      log: log.child({ mod: 'link' }),
    });
    this.outbox = new Outbox(config.outbox.maxBytes);
    this.courier = new Courier({
      outlet: this.link,
      outbox: this.outbox,
      store: this.store,
      throttle: this.queue,
      maxBufferedBytes: config.cloud.maxBufferedBytes,
      log: log.child({ mod: 'courier' }),
    });
    this.commands = new CommandService({
      policy: new Policy(config.rest),
      rest: this.rest,
      queue: this.queue,
      store: this.store,
      answers: this.courier,
      log: log.child({ mod: 'commands' }),
    });
    this.link.on('inbound', (msg) => this.commands.handle(msg));
    this.link.on('ready', () => this.courier.flush());
    this.link.on('down', () => this.courier.down());
  }

  start(): void {
    const c = this.#config;
    this.#log.info(
      {
        cloud: safeUrl(c.cloud.url as string),
        rest: c.rest.baseUrl,
        allowedPaths: c.rest.allowedPaths,
        concurrency: c.queue.concurrency,
        maxPending: c.queue.maxPending,
        stateDir: c.state.dir,
        configFile: c.configFile,
      },
      'nbwss-bridge starting',
    );
    this.#sweeper = setInterval(() => this.store.sweep(), Math.min(c.dedupe.ttlMs / 2, 30_000));
    this.#sweeper.unref();
    this.link.start();
  }

  /**
   * Stops taking requests (503), lets calls in flight finish within shutdown.graceMs and
   * sends their answers, aborts what is left, closes the socket with 1001. Idempotent.
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
      this.rest.abortAll(
        new AnsweredError('NBW_ERR_REST_TIMEOUT', `the bridge shut down while the REST call was running (after ${graceMs} ms grace); its outcome is unknown`),
      );
      await this.queue.onIdle();
    }
    if (this.outbox.size > 0) {
      this.#log.warn({ answers: this.outbox.size }, 'no connection to send held answers on; with state.dir they are kept for resends after the restart');
    }
    await this.link.stop();
    await this.rest.close();
    await this.#journal?.close();
    this.#log.info('stopped');
  }
}
