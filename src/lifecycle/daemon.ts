// The daemon: builds the parts in order (rest → queue → commands → link), wires them, and
// stops them in reverse with a grace period for calls in flight.
import type { Config } from '../config/load.js';
import { USER_AGENT } from '../constants.js';
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { CommandService } from '../bridge/commands.js';
import { Link, safeUrl } from '../link/link.js';
import { Policy } from '../policy/allow.js';
import { CommandQueue } from '../queue/queue.js';
import { RestClient } from '../rest/client.js';

export class Daemon {
  readonly #config: Config;
  readonly #log: Logger;
  readonly rest: RestClient;
  readonly queue: CommandQueue;
  readonly commands: CommandService;
  readonly link: Link;
  #stopping: Promise<void> | null = null;

  constructor(config: Config, log: Logger) {
    if (config.cloud.url === null || config.cloud.token === null) {
      throw new TypeError('the daemon needs cloud.url and a token; loadConfig({ purpose: "run" }) checks both');
    }
    this.#config = config;
    this.#log = log;
    this.rest = new RestClient({
      baseUrl: config.rest.baseUrl,
      ca: config.rest.ca,
      timeoutMs: config.rest.timeoutMs,
      maxResponseBytes: config.rest.maxResponseBytes,
      connections: config.queue.concurrency,
    });
    this.queue = new CommandQueue(config.queue);
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
    const cmdLog = log.child({ mod: 'commands' });
    this.commands = new CommandService({
      policy: new Policy(config.rest),
      rest: this.rest,
      queue: this.queue,
      log: cmdLog,
      deliver: (id, frame, status) => {
        if (!this.link.send(frame)) cmdLog.warn({ id, status }, 'answer not delivered: no cloud connection is up');
      },
    });
    this.link.on('inbound', (msg) => this.commands.handle(msg));
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
        configFile: c.configFile,
      },
      'nbwss-bridge starting',
    );
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
    await this.link.stop();
    await this.rest.close();
    this.#log.info('stopped');
  }
}
