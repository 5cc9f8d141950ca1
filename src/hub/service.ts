// `nbwss-bridge hub` as a running service: the agents' endpoint (a Hub, joined to the other
// nodes when Redis is configured) and the application's HTTP API beside it, with the hub's
// metrics and the process's own on /metrics.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileTokenStore, Hub, type Notification } from '../cloud/index.js';
import type { Logger } from '../log/logger.js';
import { apiHandler } from './api.js';
import type { HubConfig } from './config.js';
import { NotificationFeed } from './feed.js';

/** The token file, read once now so that a broken one stops the start, in a directory the hub can write. */
async function tokenFile(path: string): Promise<FileTokenStore> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (err) {
    throw new Error(`tokens: cannot write into ${dirname(path)} (${(err as NodeJS.ErrnoException).code}): the directory must exist and be the hub's`);
  }
  const store = new FileTokenStore(path);
  try {
    await store.get('');
  } catch (err) {
    throw new Error(`tokens: ${path} cannot be read (${(err as Error).message}); it is written by the hub: restore it, or move it away to start with no agents`);
  }
  return store;
}

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
    const tokens = config.tokens === null ? null : await tokenFile(config.tokens);
    let hub: Hub;
    try {
      hub = await Hub.listen({
        host: config.listen.host,
        port: config.listen.port,
        path: config.path,
        ...(config.tls ? { tls: config.tls } : {}),
        ...(tokens ? { tokens } : {}),
        ...(config.redis ? { redis: config.redis } : {}),
        requestTimeoutMs: config.requestTimeoutMs,
        heartbeatMs: config.heartbeatMs,
        maxInFlightPerAgent: config.maxInFlightPerAgent,
        logger: log.child({ mod: 'hub' }),
        metrics: registry,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.syscall === 'listen') throw new Error(`listen ${config.listen.host}:${config.listen.port} (the agents' endpoint): ${e.code ?? e.message}`);
      if (config.tls && /PEM|key values mismatch|ERR_OSSL|certificate/i.test(`${e.code ?? ''} ${e.message}`)) throw new Error(`tls.cert, tls.key: ${e.message} (each must be a PEM file, the certificate and its own private key)`);
      throw err;
    }
    const deliver = (n: Notification) => feed.deliver(n);
    // With Redis, a node takes notifications off the shared stream only while a stream of its API reads them; alone, it
    // always does, and one that no stream reads is left for its agent to send again.
    const feed = new NotificationFeed(config.ackTimeoutMs, config.redis ? (reading) => (reading ? hub.on('notification', deliver) : hub.off('notification', deliver)) : () => {});
    if (!config.redis) hub.on('notification', deliver);
    const api = createServer(apiHandler({ hub, feed, registry, key: config.api.key, publicUrl: config.publicUrl, log: log.child({ mod: 'api' }) }));
    api.listen(config.api.listen.port, config.api.listen.host);
    try {
      await once(api, 'listening');
    } catch (err) {
      await hub.close();
      throw new Error(`api.listen ${config.api.listen.host}:${config.api.listen.port} (the HTTP API): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const service = new HubService(hub, api, feed, log);
    log.info({ agents: hub.url, api: service.apiUrl, redis: config.redis !== null, node: hub.node }, 'hub serving');
    return service;
  }

  get apiUrl(): string {
    const a = this.#api.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops taking work: callers waiting are answered 503 HUB_CLOSED, the event streams end, every agent connection is closed (1001). */
  async stop(): Promise<void> {
    this.#api.close(); // no new connections; the open ones get their answers
    await this.hub.close();
    this.#feed.close();
    await new Promise((r) => setImmediate(r));
    this.#api.closeAllConnections();
    this.#log.info('hub stopped');
  }
}
