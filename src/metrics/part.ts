// The metrics part, in the daemon's list only when metrics.listen is set: the Prometheus
// telemetry every other part reports to, and the listener for /healthz, /readyz and /metrics.
// Early in the list so that it still answers (/readyz 503 "shutting down") while calls drain.
import type { Config } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { changedKeys, type Part } from '../part.js';
import { PrometheusTelemetry, type MetricSources } from './prometheus.js';
import { METRICS_RESTART_ONLY } from './telemetry.js';
import { MetricsServer, type Readiness } from './server.js';

export { METRICS_RESTART_ONLY, type Readiness };

export class MetricsPart implements Part {
  readonly name = 'metrics';
  readonly telemetry: PrometheusTelemetry;
  readonly #server: MetricsServer;
  readonly #listen: string;

  constructor(listen: string, sources: MetricSources, readiness: () => Readiness, log: Logger) {
    this.#listen = listen;
    const telemetry = new PrometheusTelemetry(sources);
    this.telemetry = telemetry;
    this.#server = new MetricsServer({ listen, readiness, metrics: () => telemetry.metrics(), contentType: telemetry.contentType, log });
  }

  /** Where it listens, once started. */
  get address(): string {
    return this.#server.address;
  }

  async start(): Promise<void> {
    try {
      await this.#server.start();
    } catch (err) {
      throw new ConfigError([`metrics.listen: cannot listen on ${this.#listen}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
  }

  async stop(): Promise<void> {
    await this.#server.stop();
  }

  reload(prev: Config, next: Config): string[] {
    return changedKeys(prev, next, METRICS_RESTART_ONLY);
  }
}
