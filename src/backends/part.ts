// The backends part: the router to every backend, replaced whole by a reload that changes any
// backend (its REST settings, policy, CA or credentials) or the login waits; calls already routed
// keep the old one, which logs out and closes once they are done.
import type { Config } from '../config/load.js';
import type { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { changedKeys, type Part } from '../part.js';
import { Router, type Route, type Routing } from './router.js';

export class BackendsPart implements Part, Routing {
  readonly name = 'backends';
  readonly #log: Logger;
  readonly #telemetry: Telemetry;
  #router: Router;
  /** Routers a reload replaced, until their calls are done. */
  readonly #retired = new Set<Router>();

  constructor(config: Config, log: Logger, telemetry: Telemetry) {
    this.#log = log;
    this.#telemetry = telemetry;
    this.#router = this.#build(config);
  }

  /** The router in force. */
  get router(): Router {
    return this.#router;
  }

  route(method: string, uri: string): Route {
    return this.#router.route(method, uri);
  }

  /** Aborts every call still running (the end of a shutdown's grace period). */
  abortAll(reason: AnsweredError): void {
    this.#router.abortAll(reason);
    for (const r of this.#retired) r.abortAll(reason);
  }

  reload(prev: Config, next: Config): string[] {
    if (changedKeys(prev, next, ['backends', 'login']).length === 0) return [];
    const old = this.#router;
    this.#router = this.#build(next);
    this.#log.info({ backends: next.backends.map((b) => b.name) }, 'backends rebuilt; calls already running finish on the old ones');
    this.#retired.add(old);
    void old.close().finally(() => this.#retired.delete(old));
    return [];
  }

  async stop(): Promise<void> {
    await this.#router.close();
  }

  // The pools are sized by queue.concurrency, which only a restart changes.
  #build(config: Config): Router {
    return new Router(config.backends, { connections: config.queue.concurrency, login: config.login }, this.#log, this.#telemetry);
  }
}
