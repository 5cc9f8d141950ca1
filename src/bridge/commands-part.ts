// The commands part: the queue every REST call goes through and the service that answers
// COMMAND REQUESTs. Stopping it is the drain of a shutdown: new requests are answered 503,
// calls in flight get shutdown.graceMs to finish (their answers still go out), then the rest
// are aborted with an answer that says their outcome is unknown.
import type { Config } from '../config/load.js';
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Telemetry } from '../metrics/telemetry.js';
import type { Part } from '../part.js';
import { changedKeys } from '../part.js';
import { CommandQueue } from '../queue/queue.js';
import type { Routing } from '../backends/router.js';
import type { IdStore } from '../dedupe/idstore.js';
import { CommandService, type Channel, type CommandMessage } from './commands.js';

const RESTART_ONLY = ['queue.concurrency', 'queue.maxPending', 'protocol.extensions'] as const;

export interface CommandsPartOptions {
  config: Config;
  routes: Routing & { abortAll(reason: AnsweredError): void };
  store: IdStore;
  log: Logger;
  telemetry: Telemetry;
}

export class CommandsPart implements Part {
  readonly name = 'commands';
  readonly queue: CommandQueue;
  readonly service: CommandService;
  readonly #routes: CommandsPartOptions['routes'];
  readonly #log: Logger;
  #graceMs: number;

  constructor(opts: CommandsPartOptions) {
    this.queue = new CommandQueue(opts.config.queue);
    this.#routes = opts.routes;
    this.#log = opts.log;
    this.#graceMs = opts.config.shutdown.graceMs;
    this.service = new CommandService({
      routes: opts.routes,
      queue: this.queue,
      store: opts.store,
      log: opts.log,
      telemetry: opts.telemetry,
      extensions: opts.config.protocol.extensions,
    });
  }

  handle(msg: CommandMessage, ch: Channel): void {
    this.service.handle(msg, ch);
  }

  /** Requests that arrived on `connection` and are not answered yet. */
  pendingOn(connection: number): number {
    return this.service.pendingOn(connection);
  }

  reload(prev: Config, next: Config): string[] {
    this.#graceMs = next.shutdown.graceMs;
    return changedKeys(prev, next, RESTART_ONLY);
  }

  async stop(): Promise<void> {
    const graceMs = this.#graceMs;
    this.service.stopAccepting();
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      // Stryker disable next-line ArrowFunction: undefined is as false as false here
      this.queue.onIdle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!expired) return;
    this.#log.warn({ running: this.queue.running, graceMs }, 'grace period over; aborting REST calls still running');
    this.#routes.abortAll(
      new AnsweredError('NBW_ERR_REST_TIMEOUT', `the bridge shut down while the REST call was running (after ${graceMs} ms grace); its outcome is unknown`),
    );
    await this.queue.onIdle();
  }
}
