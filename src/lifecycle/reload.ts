// What a reload (SIGHUP) changes in a running daemon, and what only a restart can change.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { groupEndpoints } from '../config/endpoints.js';
import { Router } from '../backends/router.js';
import { NbApi } from '../notifications/nbapi.js';
import type { Daemon } from './daemon.js';

/** Keys whose new value is only read at start. */
const RESTART_ONLY = [
  'queue.concurrency',
  'queue.maxPending',
  'dedupe.ttlMs',
  'dedupe.maxEntries',
  'dedupe.maxBytes',
  'outbox.maxBytes',
  'state.dir',
  'metrics.listen',
  'cloud.connectTimeoutMs',
  'cloud.maxMessageBytes',
  'cloud.maxBufferedBytes',
  'cloud.perMessageDeflate',
  'reconnect.minMs',
  'reconnect.maxMs',
  'connection.periodMs',
  'connection.failBack',
  'heartbeat.intervalMs',
  'heartbeat.maxMissedPongs',
  'protocol.extensions',
  'notifications.jobs',
  'notifications.images',
  'notifications.pollMs',
  'notifications.apiKey',
  'notifications.batchMax',
  'notifications.ackTimeoutMs',
  'notifications.maxPending',
  'notifications.imagesWindowMs',
] as const;

const get = (c: Config, key: string): unknown => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);

/**
 * Applies `next` over `prev`: endpoints and tokens (next dial, current connections replaced
 * gracefully), the cloud CA and proxy (next dial), backends, policy and credentials (new calls), the
 * log level (at once). Returns the keys that changed but need a restart.
 */
export function applyReload(d: Daemon, prev: Config, next: Config, log: Logger): string[] {
  const needsRestart: string[] = RESTART_ONLY.filter((k) => !isDeepStrictEqual(get(prev, k), get(next, k)));

  const groups = groupEndpoints(next.cloud.endpoints);
  for (const name of groups.keys()) if (!d.groups.has(name)) needsRestart.push(`cloud.endpoints (new group ${name})`);
  for (const name of d.groups.keys()) if (!groups.has(name)) needsRestart.push(`cloud.endpoints (group ${name} removed)`);
  for (const [name, g] of d.groups) {
    g.link.updateDialSettings(next.cloud.ca, next.cloud.proxy);
    const endpoints = groups.get(name);
    if (endpoints) g.link.updateEndpoints(endpoints);
  }

  // Backends (rest.*, policy, CA files, credentials read from their files) are rebuilt when anything about them changed.
  const backendsChanged = !isDeepStrictEqual(prev.backends, next.backends);
  if (backendsChanged) d.replaceRouter(new Router(next.backends, next.queue.concurrency, log.child({ mod: 'backends' }), d.telemetry));
  // Notification polls go to the same REST API as commands: they follow rest.* too.
  const restChanged = prev.rest.baseUrl !== next.rest.baseUrl || prev.rest.ca !== next.rest.ca || prev.rest.timeoutMs !== next.rest.timeoutMs;
  if (restChanged && d.notifier && next.notifications.apiKey !== null) {
    const nlog = log.child({ mod: 'notifications' });
    d.notifier.useApi(new NbApi({ baseUrl: next.rest.baseUrl, ca: next.rest.ca, apiKey: next.notifications.apiKey, timeoutMs: next.rest.timeoutMs, log: nlog }));
  }
  log.info(
    { backendsChanged, logLevel: next.log.level, ...(needsRestart.length ? { needsRestart } : {}) },
    needsRestart.length ? 'configuration reloaded; some changes need a restart to apply' : 'configuration reloaded',
  );
  // Children follow their root's level in pino, so this reaches every module's logger.
  if (prev.log.level !== next.log.level) log.level = next.log.level;
  return needsRestart;
}
