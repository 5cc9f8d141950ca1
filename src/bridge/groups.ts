// The groups part: one link, courier and outbox per endpoint group. Every message a link
// decodes goes to the dispatcher with the channel its answer goes back on; a group whose cloud
// reads slowly holds back its own calls only. A reload takes new endpoints, CA and proxy for the
// next dial; a group added or removed needs a restart.
import { groupEndpoints } from '../config/endpoints.js';
import type { Config } from '../config/load.js';
import { USER_AGENT } from '../constants.js';
import type { Logger } from '../log/logger.js';
import { Link } from '../link/link.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { changedKeys, type Part } from '../part.js';
import type { CommandQueue } from '../queue/queue.js';
import type { IdStore } from '../dedupe/idstore.js';
import { Courier, type Throttle } from './courier.js';
import type { Dispatcher } from './dispatch.js';
import { Outbox } from './outbox.js';

const RESTART_ONLY = [
  'outbox.maxBytes',
  'cloud.connectTimeoutMs',
  'cloud.maxMessageBytes',
  'cloud.maxBufferedBytes',
  'cloud.perMessageDeflate',
  'cloud.maxJsonDepth',
  'cloud.loopbackZeroMask',
  'reconnect.minMs',
  'reconnect.maxMs',
  'connection.periodMs',
  'connection.failBack',
  'heartbeat.intervalMs',
  'heartbeat.maxMissedPongs',
] as const;

/** One endpoint group: its link, and where its answers wait while it is down. */
export interface Group {
  readonly name: string;
  readonly link: Link;
  readonly outbox: Outbox;
  readonly courier: Courier;
}

/** Holds back, and lets go, the calls of one endpoint group only. */
export const laneThrottle = (queue: Pick<CommandQueue, 'pause' | 'resume'>, lane: string): Throttle => ({
  pause: () => queue.pause(lane),
  resume: () => queue.resume(lane),
});

export interface GroupsPartOptions {
  config: Config;
  dispatcher: Dispatcher;
  store: IdStore;
  /** Paused for a group while its cloud reads too slowly. */
  queue: Pick<CommandQueue, 'pause' | 'resume'>;
  /** Requests that arrived on a connection and are not answered yet (a replaced connection waits for them). */
  pendingOn: (connection: number) => number;
  log: Logger;
  telemetry: Telemetry;
}

export class GroupsPart implements Part {
  readonly name = 'groups';
  readonly groups: ReadonlyMap<string, Group>;
  readonly #log: Logger;

  constructor(opts: GroupsPartOptions) {
    const { config: c, log } = opts;
    this.#log = log;
    const groups = new Map<string, Group>();
    for (const [name, endpoints] of groupEndpoints(c.cloud.endpoints)) {
      const link = new Link({
        group: name,
        endpoints,
        ca: c.cloud.ca,
        connectTimeoutMs: c.cloud.connectTimeoutMs,
        heartbeatMs: c.heartbeat.intervalMs,
        maxMissedPongs: c.heartbeat.maxMissedPongs,
        reconnect: c.reconnect,
        periodMs: c.connection.periodMs,
        failBack: c.connection.failBack,
        maxMessageBytes: c.cloud.maxMessageBytes,
        maxJsonDepth: c.cloud.maxJsonDepth,
        perMessageDeflate: c.cloud.perMessageDeflate,
        userAgent: USER_AGENT,
        proxy: c.cloud.proxy,
        loopbackZeroMask: c.cloud.loopbackZeroMask,
        log: log.child({ mod: 'link', group: name }),
        telemetry: opts.telemetry,
        pendingOn: opts.pendingOn,
        // Stryker disable next-line ArithmeticOperator: how long a replaced connection waits for its answers; only a test waiting on the clock could tell
        drainTimeoutMs: c.rest.timeoutMs + 10_000,
      });
      const outbox = new Outbox(c.outbox.maxBytes);
      const courier = new Courier({
        outlet: link,
        outbox,
        store: opts.store,
        throttle: laneThrottle(opts.queue, name),
        maxBufferedBytes: c.cloud.maxBufferedBytes,
        extensions: c.protocol.extensions,
        log: log.child({ mod: 'courier', group: name }),
        telemetry: opts.telemetry,
      });
      const channel = (connection: number) => ({ group: name, connection, answers: courier });
      link.on('inbound', (msg, connection) => opts.dispatcher.dispatch(msg, channel(connection)));
      link.on('ready', () => courier.flush());
      link.on('down', () => courier.down());
      link.on('closed', (info) => courier.closed(info));
      groups.set(name, { name, link, outbox, courier });
    }
    this.groups = groups;
  }

  /** Bytes of answers held for groups that are down. */
  get outboxBytes(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.outbox.bytes;
    return n;
  }

  /** True while at least one group has a connection whose CONNECT was answered valid:true. */
  get ready(): boolean {
    for (const g of this.groups.values()) if (g.link.ready) return true;
    return false;
  }

  /** Each group's state, for /readyz. */
  describe(): string {
    return [...this.groups.values()].map((g) => `group ${g.name}: ${g.link.ready ? `connected to ${g.link.endpoint}` : 'not connected'}`).join('; ');
  }

  start(): void {
    for (const g of this.groups.values()) g.link.start();
  }

  async stop(): Promise<void> {
    let held = 0;
    for (const g of this.groups.values()) held += g.outbox.size;
    if (held > 0) this.#log.warn({ answers: held }, 'no connection to send held answers on; with state.dir they are kept for resends after the restart');
    await Promise.all([...this.groups.values()].map((g) => g.link.stop()));
  }

  /** Endpoints and tokens: next dial (current connections replaced gracefully); the cloud CA and proxy: next dial. */
  reload(prev: Config, next: Config): string[] {
    const needsRestart = changedKeys(prev, next, RESTART_ONLY);
    const wanted = groupEndpoints(next.cloud.endpoints);
    for (const name of wanted.keys()) if (!this.groups.has(name)) needsRestart.push(`cloud.endpoints (new group ${name})`);
    for (const [name, g] of this.groups) {
      g.link.updateDialSettings(next.cloud.ca, next.cloud.proxy);
      const endpoints = wanted.get(name);
      if (endpoints) g.link.updateEndpoints(endpoints);
      else needsRestart.push(`cloud.endpoints (group ${name} removed)`);
    }
    return needsRestart;
  }
}
