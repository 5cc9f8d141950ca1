// The notifications part, in the daemon's list only when a notification type is on (and the
// loader has read its API key and checked state.dir): it owns the REST API client the polls
// use, the notifier, and the NOTIFICATION RESPONSEs the dispatcher hands over.
import type { Config } from '../config/load.js';
import { NOTIFICATIONS_RESTART_ONLY, notificationsWanted } from './keys.js';
import type { Logger } from '../log/logger.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { changedKeys, type Part } from '../part.js';
import { NbApi } from './nbapi.js';
import { Notifier, type NotifyOutlet } from './notifier.js';
import { enabledPollers } from './registry.js';

/** Keys only read at start, the switch of every type included. */
export { NOTIFICATIONS_RESTART_ONLY };

/** A link as the notifications see it: an outlet that says when it is ready. */
export interface NotifyLink extends NotifyOutlet {
  on(event: 'ready', listener: () => void): unknown;
}

export interface NotificationsPartOptions {
  config: Config;
  groups: ReadonlyMap<string, NotifyLink>;
  log: Logger;
  telemetry: Telemetry;
}

const apiFor = (c: Config, apiKey: string, log: Logger) => new NbApi({ baseUrl: c.rest.baseUrl, ca: c.rest.ca, apiKey, timeoutMs: c.rest.timeoutMs, log });

export class NotificationsPart implements Part {
  readonly name = 'notifications';
  readonly notifier: Notifier;
  readonly #log: Logger;

  /** True when the configuration turns a notification type on (the loader then checked state.dir and read the key). */
  static wanted(c: Config): boolean {
    return notificationsWanted(c);
  }

  private constructor(notifier: Notifier, log: Logger) {
    this.notifier = notifier;
    this.#log = log;
  }

  /** Loads the durable state; every group gets every notification, resent when it connects. */
  static async open(opts: NotificationsPartOptions): Promise<NotificationsPart> {
    const { config: c, log } = opts;
    const notifier = await Notifier.open({
      config: c.notifications,
      api: apiFor(c, c.notifications.apiKey as string, log),
      pollers: enabledPollers(c.notifications),
      stateDir: c.state.dir as string,
      groups: opts.groups,
      log,
      telemetry: opts.telemetry,
    });
    for (const [name, link] of opts.groups) link.on('ready', () => notifier.connected(name));
    return new NotificationsPart(notifier, log);
  }

  /** A NOTIFICATION RESPONSE from `group`. */
  ack(group: string, id: string): void {
    this.notifier.ack(group, id);
  }

  /** Records waiting for acknowledgement by every group. */
  get pendingRecords(): number {
    return this.notifier.pendingRecords;
  }

  start(): void {
    this.notifier.start();
  }

  stop(): Promise<void> {
    return this.notifier.stop();
  }

  /** Polls go to the same REST API as commands: they follow rest.* at once. */
  reload(prev: Config, next: Config): string[] {
    const restChanged = changedKeys(prev, next, ['rest.baseUrl', 'rest.ca', 'rest.timeoutMs']).length > 0;
    if (restChanged && next.notifications.apiKey !== null) this.notifier.useApi(apiFor(next, next.notifications.apiKey, this.#log));
    return changedKeys(prev, next, NOTIFICATIONS_RESTART_ONLY);
  }
}
