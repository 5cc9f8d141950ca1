// Hub nodes sharing one application through Redis:
// - presence: `<prefix>agent:<agentId>` names the node holding the agent, with a TTL each
//   heartbeat refreshes; a node taking the agent over overwrites it and says so on
//   `<prefix>online`, and the node that held it closes its older connection;
// - requests: a node without the agent publishes the frame on the holding node's channel
//   (`<prefix>node:<node>`), which sends it and publishes the answer back on the asking
//   node's channel. A request whose holder goes away is resent under the same id when the
//   agent comes online anywhere (the agent runs an id once);
// - notifications: put once on the stream `<prefix>notifications` (a key per id says queued
//   or handled, for handledWindowMs), read by the consumer group of the application's
//   workers; the agent is acknowledged only after the worker's XACK. Entries a worker took
//   and did not finish (it failed, or its node died) are claimed by another after claimIdleMs.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AgentRecord, Cluster, ClusterAgent, ClusterEvents, NotificationFate } from './cluster.js';
import { RedisUnreachableError } from './errors.js';
import { pairKey } from './handled.js';
import type { StoredToken, TokenStore } from './tokens.js';
import type { HubLogger, Notification, RedisOptions } from './types.js';

// Renews this node's agents; one whose key is gone (Redis restarted, or was unreachable past
// the TTL) is put back and announced, unless another node holds it now.
const REFRESH = `for i, k in ipairs(KEYS) do
  local v = redis.call('get', k)
  if v == ARGV[1] then redis.call('pexpire', k, ARGV[2])
  elseif not v then
    local a = ARGV[3 + 2 * i]
    redis.call('set', k, ARGV[1], 'PX', ARGV[2])
    redis.call('hset', ARGV[4], a, ARGV[4 + 2 * i])
    redis.call('publish', ARGV[3], cjson.encode({a = a, n = ARGV[1]}))
  end
end return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) redis.call('hdel', KEYS[2], ARGV[2]) end return 0`;
const NOTIFIED = `local v = redis.call('get', KEYS[1]) if v then return v end
redis.call('set', KEYS[1], 'queued', 'PX', ARGV[1])
redis.call('xadd', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'a', ARGV[3], 'i', ARGV[4], 'p', ARGV[5]) return 'new'`;
const DONE = `redis.call('xack', KEYS[1], ARGV[1], ARGV[2]) redis.call('xdel', KEYS[1], ARGV[2])
redis.call('set', KEYS[2], 'handled', 'PX', ARGV[3]) return 0`;

type Message = { t: 'send'; a: string; i: string; f: string; o: string; d: number } | { t: 'answer'; a: string; i: string; p: object } | { t: 'ack'; a: string; i: string } | { t: 'end'; a: string; w: string };
type Entry = [string, string[]];

const enc = encodeURIComponent;

export class RedisCluster implements Cluster {
  readonly node = randomUUID();
  readonly #opts: Required<Omit<RedisOptions, 'url'>>;
  readonly #ttlMs: number;
  readonly #log: HubLogger;
  readonly #cmd: Redis;
  readonly #sub: Redis;
  #blocking: Redis | null = null;
  #on: ClusterEvents | null = null;
  /** Requests other nodes sent through this one, by agent and id: where their answers go. */
  readonly #origins = new Map<string, { node: string; deadline: number }>();
  readonly #where: string;
  #lastError = '';
  #closed = false;

  constructor(opts: RedisOptions, heartbeatMs: number, log: HubLogger) {
    this.#opts = { prefix: 'nbwss:', group: 'hub', claimIdleMs: 30_000, handledWindowMs: 86_400_000, streamMaxLen: 100_000, ...opts };
    this.#ttlMs = Math.max(3 * heartbeatMs, 1000);
    this.#log = log;
    // Commands fail at once while Redis is away instead of queueing: what needs them is tried
    // again anyway (each heartbeat, each reconnect and resend), and a request is not held up.
    const options = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.#cmd = new Redis(opts.url, options);
    this.#sub = new Redis(opts.url, options);
    const u = new URL(opts.url);
    this.#where = `${u.protocol}//${u.host}`; // never the password
    for (const r of [this.#cmd, this.#sub]) {
      r.on('error', (err: Error) => {
        this.#lastError = err.message;
        this.#log.warn({ error: err.message, redis: this.#where }, 'redis: connection problem (retrying)');
      });
    }
  }

  #key(kind: 'agent' | 'notification', ...parts: string[]): string {
    return `${this.#opts.prefix}${kind}:${parts.map(enc).join(':')}`;
  }

  get #stream(): string {
    return `${this.#opts.prefix}notifications`;
  }

  async start(on: ClusterEvents): Promise<void> {
    this.#on = on;
    try {
      await Promise.all([this.#cmd.connect(), this.#sub.connect()]);
    } catch (err) {
      throw new RedisUnreachableError(this.#where, this.#lastError || (err as Error).message);
    }
    this.#sub.on('message', (channel: string, text: string) => this.#message(channel, text));
    await this.#sub.subscribe(`${this.#opts.prefix}node:${this.node}`, `${this.#opts.prefix}online`);
  }

  #message(channel: string, text: string): void {
    const on = this.#on;
    let m: Message & { n?: string };
    try {
      m = JSON.parse(text) as Message & { n?: string };
    } catch {
      return;
    }
    if (!on) return;
    if (channel === `${this.#opts.prefix}online`) {
      if (typeof m.n === 'string' && typeof (m as { a?: unknown }).a === 'string') on.online(m.a, m.n);
      return;
    }
    if (m.t === 'send') {
      this.#origins.set(pairKey(m.a, m.i), { node: m.o, deadline: m.d });
      if (this.#origins.size > 100_000) this.#origins.delete(this.#origins.keys().next().value as string);
      on.send(m.a, m.i, m.f);
    } else if (m.t === 'answer') on.answer(m.a, m.i, m.p);
    else if (m.t === 'ack') on.ack(m.a, m.i);
    else if (m.t === 'end') on.end(m.a, m.w);
  }

  async #publish(node: string, m: Message): Promise<number> {
    return this.#cmd.publish(`${this.#opts.prefix}node:${node}`, JSON.stringify(m));
  }

  async online({ agentId, labels, since }: AgentRecord): Promise<void> {
    await this.#cmd
      .multi()
      .set(this.#key('agent', agentId), this.node, 'PX', this.#ttlMs)
      .hset(`${this.#opts.prefix}agents`, agentId, JSON.stringify({ labels, since: since.toISOString() }))
      .publish(`${this.#opts.prefix}online`, JSON.stringify({ a: agentId, n: this.node }))
      .exec();
  }

  async offline(agentId: string): Promise<void> {
    await this.#cmd.eval(RELEASE, 2, this.#key('agent', agentId), `${this.#opts.prefix}agents`, this.node, agentId);
  }

  async refresh(agents: AgentRecord[]): Promise<void> {
    const now = Date.now();
    for (const [k, o] of this.#origins) if (o.deadline < now) this.#origins.delete(k);
    if (agents.length === 0) return;
    const p = this.#opts.prefix;
    const args = agents.flatMap(({ agentId, labels, since }) => [agentId, JSON.stringify({ labels, since: since.toISOString() })]);
    await this.#cmd.eval(REFRESH, agents.length, ...agents.map((a) => this.#key('agent', a.agentId)), this.node, this.#ttlMs, `${p}online`, `${p}agents`, ...args);
  }

  async route(agentId: string, id: string, frame: string, deadline: number): Promise<string | null> {
    const node = await this.#cmd.get(this.#key('agent', agentId));
    if (node === null || node === this.node) return null; // nowhere, or here and gone already
    await this.routeTo(node, agentId, id, frame, deadline);
    return node;
  }

  async routeTo(node: string, agentId: string, id: string, frame: string, deadline: number): Promise<void> {
    await this.#publish(node, { t: 'send', a: agentId, i: id, f: frame, o: this.node, d: deadline });
  }

  /** `p`, failing as RedisUnreachableError (code HUB_REDIS_UNREACHABLE: a 503 for the API) when Redis is away. */
  #guard<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: Error) => Promise.reject(new RedisUnreachableError(this.#where, /enableOfflineQueue|Connection is closed/.test(err.message) ? 'not connected (reconnecting)' : err.message)));
  }

  async end(agentId: string, why: string): Promise<void> {
    const node = await this.#guard(this.#cmd.get(this.#key('agent', agentId)));
    if (node !== null && node !== this.node) await this.#publish(node, { t: 'end', a: agentId, w: why });
  }

  /** The agents' tokens, hashed, in the hash `<prefix>tokens`: every node checks and issues the same ones. */
  tokens(): TokenStore {
    const key = `${this.#opts.prefix}tokens`;
    const [cmd, guard] = [this.#cmd, <T>(p: Promise<T>) => this.#guard(p)];
    return {
      async get(agentId) {
        const v = await guard(cmd.hget(key, agentId));
        return v === null ? undefined : (JSON.parse(v) as StoredToken);
      },
      async set(agentId, token) {
        await guard(cmd.hset(key, agentId, JSON.stringify(token)));
      },
      async delete(agentId) {
        return (await guard(cmd.hdel(key, agentId))) > 0;
      },
    };
  }

  answered(agentId: string, id: string, payload: object): boolean {
    const key = pairKey(agentId, id);
    const origin = this.#origins.get(key);
    if (!origin) return false; // an answer no one waits for (timed out, or asked before this node knew)
    this.#origins.delete(key);
    this.#publish(origin.node, { t: 'answer', a: agentId, i: id, p: payload }).catch((err: Error) => this.#log.warn({ error: err.message, agentId }, 'redis: could not pass an answer on'));
    return true;
  }

  async agents(): Promise<ClusterAgent[]> {
    const info = await this.#guard(this.#cmd.hgetall(`${this.#opts.prefix}agents`));
    const ids = Object.keys(info);
    if (ids.length === 0) return [];
    const nodes = await this.#guard(this.#cmd.mget(ids.map((a) => this.#key('agent', a))));
    return ids.flatMap((agentId, i) => {
      const node = nodes[i];
      if (!node) return []; // its node went away without saying so
      const { labels, since } = JSON.parse(info[agentId] as string) as { labels: Record<string, string>; since: string };
      return [{ agentId, node, labels, since: new Date(since) }];
    });
  }

  async notified(agentId: string, id: string, payload: unknown): Promise<NotificationFate> {
    const o = this.#opts;
    const fate = await this.#cmd.eval(NOTIFIED, 2, this.#key('notification', agentId, id), this.#stream, o.handledWindowMs, o.streamMaxLen, agentId, id, JSON.stringify(payload ?? null));
    return fate === 'handled' ? 'handled' : 'queued';
  }

  consume(wanted: () => boolean): void {
    if (this.#blocking || this.#closed) return;
    const blocking = (this.#blocking = this.#cmd.duplicate());
    blocking.on('error', () => {}); // reported by the command connection
    void blocking.connect().catch(() => {}).then(() => this.#loop(blocking, wanted));
  }

  async #loop(blocking: Redis, wanted: () => boolean): Promise<void> {
    const { group, claimIdleMs } = this.#opts;
    let claimed = 0;
    let cursor = '0-0';
    while (!this.#closed) {
      if (!wanted()) {
        await new Promise((r) => setTimeout(r, 250)); // no handler here now: the other workers take them
        continue;
      }
      try {
        await this.#cmd.xgroup('CREATE', this.#stream, group, '0', 'MKSTREAM').catch((err: Error) => {
          if (!err.message.includes('BUSYGROUP')) throw err;
        });
        let entries: Entry[] = [];
        if (Date.now() - claimed >= claimIdleMs / 2) {
          // Claimed page by page from where the last claim stopped, so entries that keep failing do not hide the rest.
          const [next, claimedNow] = (await this.#cmd.xautoclaim(this.#stream, group, this.node, claimIdleMs, cursor, 'COUNT', 64)) as [string, Entry[]];
          cursor = next;
          if (next === '0-0') claimed = Date.now();
          entries = claimedNow;
        }
        if (entries.length === 0) {
          const read = (await blocking.xreadgroup('GROUP', group, this.node, 'COUNT', 64, 'BLOCK', 1000, 'STREAMS', this.#stream, '>')) as [string, Entry[]][] | null;
          entries = read?.[0]?.[1] ?? [];
        }
        await Promise.all(entries.map((e) => this.#handle(e)));
      } catch (err) {
        if (this.#closed) return;
        this.#log.warn({ error: (err as Error).message }, 'redis: reading the notification stream failed; trying again in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async #handle([entryId, fields]: Entry): Promise<void> {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
    const [agentId, id] = [f.get('a') ?? '', f.get('i') ?? ''];
    let data: unknown = null;
    try {
      data = JSON.parse(f.get('p') ?? 'null');
    } catch {
      // kept as null: an entry someone else wrote
    }
    const n: Notification = { agentId, id, notifications: Array.isArray(data) ? (data as Notification['notifications']) : [] };
    // While its handlers run, the entry stays this worker's: its idle time is reset well before claimIdleMs.
    const { group, claimIdleMs } = this.#opts;
    const keep = setInterval(() => void this.#cmd.xclaim(this.#stream, group, this.node, 0, entryId, 'JUSTID').catch(() => {}), Math.max(100, claimIdleMs / 3));
    try {
      await this.#on?.handle(n);
    } catch {
      return; // left pending: claimed again after claimIdleMs
    } finally {
      clearInterval(keep);
    }
    await this.#cmd.eval(DONE, 2, this.#stream, this.#key('notification', agentId, id), this.#opts.group, entryId, this.#opts.handledWindowMs);
    const node = await this.#cmd.get(this.#key('agent', agentId));
    if (node === this.node) this.#on?.ack(agentId, id);
    else if (node !== null) await this.#publish(node, { t: 'ack', a: agentId, i: id });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#blocking?.disconnect();
    this.#sub.disconnect();
    if (this.#cmd.status === 'ready') await this.#cmd.quit().catch(() => {});
    this.#cmd.disconnect(); // and no more reconnecting, whatever state it was in
  }
}
