// Pushes NetBackup job and image events to the cloud: polls on a timer, turns changes into
// NOTIFICATION REQUESTs, persists them before sending, sends each to every endpoint group,
// resends unacknowledged ones (same id, in order) after ackTimeoutMs and after reconnects.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import { encodeNotificationRequest } from '../protocol/encode.js';
import type { Get } from './jobs.js';
import { Backoff } from '../retry.js';
import { PollError } from './nbapi.js';
import type { Poller } from './poller.js';
import { enabledPollers, POLLERS } from './registry.js';
import { loadNotifyState, StateFile, type NotifyState, type PendingNotification } from './store.js';
import { UnknownValues } from './vocabulary.js';
import { CODE } from '../errors.js';

/** A group's link as the notifier sees it. */
export interface NotifyOutlet {
  readonly ready: boolean;
  /** Bytes queued toward the cloud and not yet written. */
  readonly bufferedAmount?: number;
  send(text: string): number;
}

/** The longest wait a timer can hold (a Retry-After further away is taken as this). */
// Stryker disable next-line ArithmeticOperator: a module-level definition, which mutation testing does not switch within a process; the test of a far Retry-After pins it
const MAX_WAIT_MS = 2 ** 31 - 1;

/** Overdue notifications resent to a group per check at most, oldest first. */
export const RESEND_BATCH = 32;
/** No resends to a group while this much is queued toward it: it is reading what it has. */
// Stryker disable next-line ArithmeticOperator: a module constant, evaluated once per process where mutation testing cannot switch it; the tests use its value
export const RESEND_BUFFER_LIMIT = 1024 * 1024;

export interface NotifierOptions {
  config: Config['notifications'];
  api: { get: Get; close(): Promise<void> };
  stateDir: string;
  /** The notification types to poll (by default those the configuration turns on). */
  pollers?: readonly Poller[];
  /** Every endpoint group by name; every one gets every notification. */
  groups: ReadonlyMap<string, NotifyOutlet>;
  log: Logger;
  telemetry?: Telemetry;
  now?: () => number;
}

/** The key of a (notification, group) pair in the sent-at map. */
// Stryker disable next-line ArrowFunction: a module-level definition that mutation testing does not switch within a process; made by hand, the change fails four notifier tests
const sentKey = (id: string, group: string) => `${id}|${group}`;

export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #cfg: Config['notifications'];
  readonly #log: Logger;
  readonly #telemetry: Telemetry;
  readonly #file: StateFile;
  readonly #unknown: UnknownValues;
  readonly #now: () => number;
  #state: NotifyState;
  /** When each (notification, group) was last sent. */
  readonly #sentAt = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Waits after failed polls, by kind. */
  readonly #backoff = new Map<string, Backoff>();
  #ackTimer: NodeJS.Timeout | null = null;
  #polling = new Set<Promise<void>>();
  #stopped = false;
  #api: NotifierOptions['api'];

  private constructor(opts: NotifierOptions, state: NotifyState) {
    this.#opts = opts;
    this.#api = opts.api;
    this.#cfg = opts.config;
    this.#log = opts.log;
    this.#telemetry = opts.telemetry ?? NO_TELEMETRY;
    this.#file = new StateFile(opts.stateDir);
    this.#now = opts.now ?? Date.now;
    this.#state = state;
    this.#unknown = new UnknownValues((field, value) => opts.log.warn({ field, value }, 'unknown value in the REST answer; passed through unchanged'));
  }

  /** Loads the durable state; pending notifications are resent as groups connect. */
  static async open(opts: NotifierOptions): Promise<Notifier> {
    const state = await loadNotifyState(opts.stateDir, opts.log);
    // Every type's state is kept, polled or not, so that an earlier release reading this file finds what it expects.
    for (const p of POLLERS) state[p.kind] ??= p.initial();
    const n = new Notifier(opts, state);
    // Groups that acknowledged before the restart stay acknowledged; a group no longer configured is forgotten.
    for (const p of state.pending) p.groups = p.groups.filter((g) => opts.groups.has(g));
    state.pending = state.pending.filter((p) => p.groups.length > 0);
    // Stryker disable next-line ConditionalExpression: only decides whether a log line is written
    if (state.pending.length) opts.log.info({ notifications: state.pending.length }, 'unacknowledged notifications restored; they go out as groups connect');
    return n;
  }

  /** Records waiting for acknowledgement by every group. */
  get pendingRecords(): number {
    return this.#state.pending.reduce((n, p) => n + p.records.length, 0);
  }

  /** Notifications waiting for acknowledgement, oldest first. */
  get pending(): readonly PendingNotification[] {
    return this.#state.pending;
  }

  start(): void {
    for (const p of this.#opts.pollers ?? enabledPollers(this.#cfg)) this.#schedule(p, 0);
    // Stryker disable next-line MethodExpression,ArithmeticOperator: how often overdue notifications are looked for, not when they are due (the resend itself is tested)
    this.#ackTimer = setInterval(() => this.#resendOverdue(), Math.max(50, Math.floor(this.#cfg.ackTimeoutMs / 4)));
  }

  /** A group's connection is ready: everything it has not acknowledged goes out again, in order. */
  connected(group: string): void {
    for (const p of this.#state.pending) if (p.groups.includes(group)) this.#send(p, group);
  }

  /** A NOTIFICATION RESPONSE from `group`. */
  ack(group: string, id: string): void {
    const p = this.#state.pending.find((x) => x.id === id);
    if (!p || !p.groups.includes(group)) {
      this.#log.debug({ id, group }, 'acknowledgement for no pending notification (already acknowledged?)');
      return;
    }
    p.groups = p.groups.filter((g) => g !== group);
    this.#sentAt.delete(sentKey(id, group));
    this.#telemetry.notificationAcked(group);
    if (p.groups.length === 0) this.#state.pending = this.#state.pending.filter((x) => x !== p);
    void this.#save();
  }

  /** Polls go to a new REST API client from now on (a reload changed rest.*); the old one closes once its poll is done. */
  useApi(api: NotifierOptions['api']): void {
    const old = this.#api;
    this.#api = api;
    void Promise.all([...this.#polling]).then(() => old.close()).catch(() => {});
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    // Stryker disable next-line ConditionalExpression: clearing no timer does nothing
    if (this.#ackTimer) clearInterval(this.#ackTimer);
    await this.#api.close();
    await Promise.all([...this.#polling]);
    await this.#save();
  }

  #schedule(p: Poller, delay: number): void {
    if (this.#stopped) return;
    this.#timers.set(
      p.kind,
      setTimeout(() => {
        // Stryker disable next-line ArrowFunction: only keeps the set of running polls small; stop waits for settled ones at once
        const run = this.#poll(p).finally(() => this.#polling.delete(run));
        this.#polling.add(run);
      }, delay),
    );
  }

  async #poll(p: Poller): Promise<void> {
    const api = this.#api;
    const get = api.get.bind(api);
    const kind = p.kind;
    let next = this.#cfg.pollMs;
    try {
      const r = await p.poll(get, this.#state[kind] ?? p.initial(), { now: this.#now(), config: this.#cfg, unknown: this.#unknown });
      this.#state[kind] = r.state;
      this.#enqueue(p.object, r.records);
      await this.#save();
      this.#backoffOf(kind).reset();
      this.#sendNew();
    } catch (err) {
      const backoff = this.#backoffOf(kind);
      this.#telemetry.pollFailed(kind);
      const e = err instanceof PollError ? err : null;
      // The server's Retry-After wins; a busy server (503) gets waits growing from pollMs to
      // maxBackoffMs; anything else is polled again at the usual pace, so polls resume soon after an outage.
      const wait = backoff.next();
      const hint = e?.retryAfterMs;
      next = hint !== null && hint !== undefined ? Math.min(Math.max(hint, 100), MAX_WAIT_MS) : e?.status === 503 ? wait : this.#cfg.pollMs;
      this.#log.warn(
        { code: CODE.NBW_ERR_POLL_FAILED, kind, status: e?.status, reason: (err as Error).message, failures: backoff.attempt, retryInMs: next },
        `polling ${kind} failed; the command path is not affected`,
      );
    }
    this.#schedule(p, next);
  }

  /** Adds records as notifications of at most batchMax records each, then keeps within maxPending. */
  #enqueue(object: string, records: Record<string, unknown>[]): void {
    const groups = [...this.#opts.groups.keys()];
    for (let i = 0; i < records.length; i += this.#cfg.batchMax) {
      this.#state.pending.push({ id: randomUUID().toUpperCase(), object, records: records.slice(i, i + this.#cfg.batchMax), groups: [...groups] });
    }
    let total = this.pendingRecords;
    let droppedRecords = 0;
    let droppedNotifications = 0;
    while (total > this.#cfg.maxPending && this.#state.pending.length > 1) {
      const old = this.#state.pending.shift() as PendingNotification;
      total -= old.records.length;
      droppedRecords += old.records.length;
      droppedNotifications++;
      for (const g of old.groups) this.#sentAt.delete(sentKey(old.id, g));
    }
    if (droppedRecords) {
      this.#log.warn(
        { dropped: droppedRecords, notifications: droppedNotifications, limit: this.#cfg.maxPending },
        'notifications.maxPending reached: dropped the oldest unacknowledged notifications',
      );
    }
  }

  /** Sends what has not been sent yet to every ready group. */
  #sendNew(): void {
    for (const p of this.#state.pending) for (const g of p.groups) if (!this.#sentAt.has(sentKey(p.id, g))) this.#send(p, g);
  }

  /** Sends overdue notifications again, a batch per group at a time, never to a group still busy reading. */
  #resendOverdue(): void {
    const limit = this.#now() - this.#cfg.ackTimeoutMs;
    const budget = new Map<string, number>();
    for (const [g, outlet] of this.#opts.groups) budget.set(g, (outlet.bufferedAmount ?? 0) > RESEND_BUFFER_LIMIT ? 0 : RESEND_BATCH);
    for (const p of this.#state.pending) {
      for (const g of p.groups) {
        const at = this.#sentAt.get(sentKey(p.id, g));
        const left = budget.get(g) ?? 0;
        // Stryker disable next-line ConditionalExpression: a notification not yet sent to a group goes out with the next new ones; sending it here changes only when
        if (at === undefined || at > limit || left === 0) continue;
        budget.set(g, left - 1);
        this.#log.debug({ id: p.id, group: g }, 'no acknowledgement in time; sending again with the same id');
        this.#send(p, g);
      }
    }
  }

  #send(p: PendingNotification, group: string): void {
    const outlet = this.#opts.groups.get(group);
    // Stryker disable next-line OptionalChaining: only configured groups are ever sent to (others are dropped at open)
    if (!outlet?.ready) return;
    const frame = encodeNotificationRequest(p.id, [{ notificationType: 'INFO', object: p.object, data: p.records }]);
    if (outlet.send(frame) === 0) return;
    this.#sentAt.set(sentKey(p.id, group), this.#now());
    this.#telemetry.notificationSent(group, p.object);
  }

  #backoffOf(kind: string): Backoff {
    let b = this.#backoff.get(kind);
    if (!b) this.#backoff.set(kind, (b = new Backoff({ minMs: this.#cfg.pollMs, maxMs: Math.max(this.#cfg.pollMs, this.#cfg.maxBackoffMs) })));
    return b;
  }

  #save(): Promise<void> {
    return this.#file.save(() => this.#state).catch((err: unknown) => {
      this.#log.error({ err, code: CODE.NBW_ERR_JOURNAL_WRITE }, 'cannot write the notification state');
    });
  }
}
