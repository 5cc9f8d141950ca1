// Notifications from agents to the application's handlers (`hub.on('notification', h)` and
// for-await loops). One is done once every handler's promise has resolved, and only then
// acknowledged; when one rejects, it is left unacknowledged and its agent sends it again.
// Alone, a hub remembers the newest ids handled, so that such a resend reaches no one twice;
// with a cluster, notifications go through its shared stream, and a node's handlers take
// their share of it (a node without handlers leaves them to the others).
import type { Cluster } from './cluster.js';
import { HandledIds, pairKey } from './handled.js';
import { NotificationInbox } from './inbox.js';
import type { HubTelemetry } from './telemetry.js';
import type { HubLogger, Notification } from './types.js';

/** Notifications handled at once, at most (past it, one is left for its agent to send again). */
const MAX_RUNNING = 10_000;

export type NotificationHandler = (n: Notification) => unknown;

export interface Desk {
  log: HubLogger;
  metrics: HubTelemetry;
  cluster: Cluster | null;
  /** The first handler came: a cluster node starts taking its share. */
  first(): void;
  failed(e: { agentId: string; id: string; err: unknown }): void;
}

export class Notifications {
  readonly #list: NotificationHandler[] = [];
  readonly #handled = new HandledIds(10_000);
  /** Notifications being handled now: a resend that comes meanwhile waits for that run instead of starting another. */
  readonly #running = new Map<string, Promise<boolean>>();
  readonly #desk: Desk;

  constructor(desk: Desk) {
    this.#desk = desk;
  }

  /** Handlers there are now. */
  get size(): number {
    return this.#list.length;
  }

  add(h: NotificationHandler): void {
    this.#list.push(h);
    if (this.#list.length === 1) this.#desk.first();
  }

  remove(h: NotificationHandler): void {
    const i = this.#list.indexOf(h);
    if (i !== -1) this.#list.splice(i, 1);
  }

  /** An async iterable taking its share of the notifications (at most `max` waiting). */
  loop(max: number): AsyncIterable<Notification> {
    const handler = (n: Notification) => inbox.take(n);
    const inbox: NotificationInbox = new NotificationInbox(max, () => this.remove(handler));
    this.add(handler);
    return inbox;
  }

  /** A NOTIFICATION REQUEST from an agent connected here; `ack` answers it. */
  async fromAgent(agentId: string, id: string, payload: unknown, ack: () => void): Promise<void> {
    const { cluster, log, metrics } = this.#desk;
    if (cluster) {
      const fate = await cluster.notified(agentId, id, payload).catch((err: Error) => log.warn({ error: err.message, agentId }, 'could not put a notification on the stream; the agent sends it again'));
      if (fate === 'handled') ack(); // else a worker has it, and it is acknowledged once handled
      return;
    }
    if (this.#handled.has(agentId, id)) {
      metrics.notification('repeat');
      ack(); // handled before; its acknowledgement was lost
      return;
    }
    const key = pairKey(agentId, id);
    let run = this.#running.get(key);
    if (run === undefined) {
      if (this.#running.size >= MAX_RUNNING) return; // unacknowledged: the agent sends it again once the handlers have caught up
      const n: Notification = { agentId, id, notifications: Array.isArray(payload) ? (payload as Notification['notifications']) : [] };
      run = this.run(n, false).then((ok) => {
        this.#running.delete(key);
        if (ok) this.#handled.add(agentId, id);
        return ok;
      });
      this.#running.set(key, run);
    } else metrics.notification('repeat');
    if (await run) ack();
  }

  /** Runs the handlers; false (reported) when one failed, or none is here and `needed` says one must be. */
  async run(n: Notification, needed: boolean): Promise<boolean> {
    const { log, metrics } = this.#desk;
    try {
      if (needed && this.#list.length === 0) throw new Error('no notification handler on this hub node');
      await Promise.all(this.#list.map((h) => h(n)));
      metrics.notification('handled');
      return true;
    } catch (err) {
      metrics.notification('failed');
      log.warn({ agentId: n.agentId, id: n.id, error: (err as Error).message }, 'notification handler failed; left unacknowledged');
      this.#desk.failed({ agentId: n.agentId, id: n.id, err });
      return false;
    }
  }
}
