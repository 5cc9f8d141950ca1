// The backends part: the router to every backend, replaced whole by a reload that changes any
// backend (its REST settings, policy, CA or credentials) or the login waits; calls already routed
// keep the old one, which logs out and closes once they are done.
import type { Config } from '../config/load.js';
import type { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { CODE } from '../errors.js';
import { changedKeys, type Part } from '../part.js';
import { Router, type Route, type Routing } from './router.js';

export class BackendsPart implements Part, Routing {
  readonly name = 'backends';
  readonly #log: Logger;
  readonly #telemetry: Telemetry;
  #probeMs: number;
  #router: Router;
  #probeTimer: NodeJS.Timeout | null = null;
  /** Backends whose last probe got no answer, with why; null before the first probe. */
  #down: Map<string, string> | null = null;
  /** Routers a reload replaced, until their calls are done. */
  readonly #retired = new Set<Router>();

  constructor(config: Config, log: Logger, telemetry: Telemetry) {
    this.#log = log;
    this.#telemetry = telemetry;
    this.#probeMs = config.rest.probeMs;
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
    this.#probeMs = next.rest.probeMs;
    if (changedKeys(prev, next, ['backends', 'login']).length === 0) return [];
    const old = this.#router;
    this.#router = this.#build(next);
    this.#log.info({ backends: next.backends.map((b) => b.name) }, 'backends rebuilt; calls already running finish on the old ones');
    this.#retired.add(old);
    void old.close().finally(() => this.#retired.delete(old));
    return [];
  }

  /** Probes the REST APIs now and then every rest.probeMs, for readiness. */
  start(): void {
    const tick = () => void this.#probe().finally(() => {
      if (this.#probeTimer) this.#probeTimer = setTimeout(tick, this.#probeMs).unref();
    });
    this.#probeTimer = setTimeout(tick, 0).unref();
  }

  /** Whether every REST API answered its last probe; the reason names those that did not. */
  health(): { up: boolean; reason: string } {
    if (this.#down === null) return { up: false, reason: 'REST API not probed yet' };
    if (this.#down.size === 0) return { up: true, reason: 'REST API answering' };
    return { up: false, reason: [...this.#down].map(([name, why]) => `REST API ${name} down: ${why}`).join('; ') };
  }

  async #probe(): Promise<void> {
    const router = this.#router;
    const results = await Promise.all(router.backends.map(async (b) => [b.name, await b.probe()] as const));
    if (router !== this.#router) return; // a reload replaced the backends meanwhile; the next tick probes the new ones
    const down = new Map(results.filter((r): r is readonly [string, string] => r[1] !== null));
    for (const [name, why] of down) if (!this.#down?.has(name)) this.#log.warn({ backend: name, reason: why, code: CODE.NBW_ERR_REST_UNREACHABLE }, 'the REST API does not answer; not ready until it does');
    for (const name of this.#down?.keys() ?? []) if (!down.has(name)) this.#log.info({ backend: name }, 'the REST API answers again');
    this.#down = down;
  }

  async stop(): Promise<void> {
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    await this.#router.close();
  }

  // The pools are sized by queue.concurrency, which only a restart changes.
  #build(config: Config): Router {
    return new Router(config.backends, { connections: config.queue.concurrency, login: config.login }, this.#log, this.#telemetry);
  }
}
