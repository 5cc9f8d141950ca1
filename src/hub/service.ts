// `nbwss-bridge hub` as a running service: the agents' endpoint (a Hub, joined to the other
// nodes when Redis is configured) and the application's HTTP API beside it, with the hub's
// metrics and the process's own on /metrics.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Hub, type Notification } from '../cloud/index.js';
import type { Logger } from '../log/logger.js';
import { apiHandler } from './api.js';
import type { HubConfig } from './config.js';
import { NotificationFeed } from './feed.js';

export class HubService {
  readonly hub: Hub;
  readonly #api: Server;
  readonly #feed: NotificationFeed;
  readonly #log: Logger;

  private constructor(hub: Hub, api: Server, feed: NotificationFeed, log: Logger) {
    this.hub = hub;
    this.#api = api;
    this.#feed = feed;
    this.#log = log;
  }

  static async start(config: HubConfig, log: Logger): Promise<HubService> {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const hub = await Hub.listen({
      host: config.listen.host,
      port: config.listen.port,
      path: config.path,
      ...(config.tls ? { tls: config.tls } : {}),
      ...(config.redis ? { redis: config.redis } : { tokens: config.tokens as string }),
      requestTimeoutMs: config.requestTimeoutMs,
      heartbeatMs: config.heartbeatMs,
      maxInFlightPerAgent: config.maxInFlightPerAgent,
      logger: log.child({ mod: 'hub' }),
      metrics: registry,
    });
    const deliver = (n: Notification) => feed.deliver(n);
    // With Redis, a node takes notifications off the shared stream only while a stream of its API reads them; alone, it
    // always does, and one that no stream reads is left for its agent to send again.
    const feed = new NotificationFeed(config.ackTimeoutMs, config.redis ? (reading) => (reading ? hub.on('notification', deliver) : hub.off('notification', deliver)) : () => {});
    if (!config.redis) hub.on('notification', deliver);
    const api = createServer(apiHandler({ hub, feed, registry, key: config.api.key, publicUrl: config.publicUrl, log: log.child({ mod: 'api' }) }));
    api.listen(config.api.listen.port, config.api.listen.host);
    try {
      await Promise.race([once(api, 'listening'), once(api, 'error').then(([err]) => Promise.reject(err as Error))]);
    } catch (err) {
      await hub.close();
      throw err;
    }
    const service = new HubService(hub, api, feed, log);
    log.info({ agents: hub.url, api: service.apiUrl, redis: config.redis !== null, node: hub.node }, 'hub serving');
    return service;
  }

  get apiUrl(): string {
    const a = this.#api.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops taking work, ends the event streams, closes every agent connection (1001). */
  async stop(): Promise<void> {
    this.#feed.close();
    this.#api.closeAllConnections();
    await new Promise<void>((r) => this.#api.close(() => r()));
    await this.hub.close();
    this.#log.info('hub stopped');
  }
}
