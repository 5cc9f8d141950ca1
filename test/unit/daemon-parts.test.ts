// Each part of the daemon on its own: what it builds from the configuration, what it does on
// start, stop and reload. No cloud and no REST API: links are built but only one test dials.
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RouteTarget } from '../../src/backends/router.js';
import type { Channel } from '../../src/bridge/commands.js';
import { CommandsPart } from '../../src/bridge/commands-part.js';
import { Dispatcher } from '../../src/bridge/dispatch.js';
import { GroupsPart, laneThrottle } from '../../src/bridge/groups.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { DedupePart, sweepEvery } from '../../src/dedupe/part.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { AnsweredError } from '../../src/errors.js';
import { NO_TELEMETRY } from '../../src/metrics/telemetry.js';
import { NotificationsPart } from '../../src/notifications/part.js';
import { StateFile, freshState } from '../../src/notifications/store.js';
import { CommandQueue } from '../../src/queue/queue.js';
import { captureLog } from '../support/log.js';
import { until } from '../support/wait.js';

const dir = () => mkdtempSync(join(tmpdir(), 'nbwss-parts-'));
const config = (env: Record<string, string> = {}, file?: object): Config => {
  const configFile = file ? join(dir(), 'config.json') : null;
  if (configFile) writeFileSync(configFile, JSON.stringify(file));
  return loadConfig({ env: { NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/nbwss', NBWSS_CLOUD_TOKEN: 'part-token', ...env }, ...(configFile ? { configFile } : {}), purpose: 'run' }).config;
};
const endpoints = (...groups: string[]) => ({
  cloud: { endpoints: groups.map((g, i) => ({ url: `ws://127.0.0.1:1/${g}`, token: `t-${g}`, groupId: g, priority: i })) },
});

describe('the dedupe part', () => {
  it('sweeps at half the ids\' lifetime, at least every 30 s', () => {
    expect(sweepEvery(10_000)).toBe(5000);
    expect(sweepEvery(600_000)).toBe(30_000);
  });

  it('keeps ids in memory without state.dir, within the dedupe bounds', async () => {
    const part = await DedupePart.open(config({ NBWSS_DEDUPE_MAX_ENTRIES: '10' }), ['default'], captureLog().log);
    expect(part.name).toBe('dedupe');
    for (let i = 0; i < 20; i++) part.store.finish(part.store.queue(`default:${i}`, 'GET', 1), `{"id":"${i}"}`);
    expect(part.store.size).toBe(10);
    await part.stop();
  });

  it('journals in state.dir: ids answered before a restart are there after it, and stop closes the journal', async () => {
    const state = dir();
    const logs = captureLog();
    const first = await DedupePart.open(config({ NBWSS_STATE_DIR: state }), ['default'], logs.log);
    await first.store.finish(first.store.queue('default:A', 'POST', 1), '{"id":"A"}');
    await first.stop();
    await first.store.start(first.store.queue('default:B', 'POST', 1));
    expect(logs.lines()).toContainEqual(expect.objectContaining({ code: 'NBW_ERR_JOURNAL_WRITE' }));
    const second = await DedupePart.open(config({ NBWSS_STATE_DIR: state }), ['default'], logs.log);
    expect(second.store.get('default:A')?.state).toBe('done');
    expect(logs.lines()).toContainEqual(expect.objectContaining({ dir: state, done: 1, msg: 'state restored from the journal' }));
    await second.stop();
  });

  it('names state.dir when it cannot be used', async () => {
    const file = join(dir(), 'a-file');
    writeFileSync(file, 'x');
    await expect(DedupePart.open(config({ NBWSS_STATE_DIR: file }), ['default'], captureLog().log)).rejects.toMatchObject({ code: 'NBW_ERR_CONFIG', problems: [expect.stringMatching(/^state\.dir: cannot use .*: E[A-Z]+$/)] });
  });

  it('expires answered ids on its sweeper once started, and stops sweeping when stopped', async () => {
    const part = await DedupePart.open(config({ NBWSS_DEDUPE_TTL_MS: '1000' }), ['default'], captureLog().log);
    part.store.finish(part.store.queue('default:S', 'GET', 1), '{}');
    part.start();
    await until(() => part.store.size === 0, 5000, 'the sweep');
    await part.stop();
  });

  it('needs a restart for its bounds and state.dir', async () => {
    const part = await DedupePart.open(config(), ['default'], captureLog().log);
    expect(part.reload(config(), config({ NBWSS_DEDUPE_MAX_ENTRIES: '5', NBWSS_DEDUPE_TTL_MS: '5000' }))).toEqual(['dedupe.ttlMs', 'dedupe.maxEntries']);
    expect(part.reload(config(), config())).toEqual([]);
    await part.stop();
  });
});

describe('the commands part', () => {
  function part(env: Record<string, string>) {
    let abort: (reason: AnsweredError) => void = () => {};
    const aborted: string[] = [];
    const target: RouteTarget = { name: 'slow', call: () => new Promise((_resolve, reject) => (abort = reject)) };
    const routes = {
      route: (_m: string, uri: string) => ({ ok: true as const, path: uri, backend: target }),
      abortAll: (reason: AnsweredError) => {
        aborted.push(reason.code);
        abort(reason);
      },
    };
    return { c: config(env), logs: captureLog(), aborted, routes };
  }

  it('drains at stop: a call still running after shutdown.graceMs is aborted with an answer saying its outcome is unknown', async () => {
    const { c, logs, aborted, routes } = part({ NBWSS_SHUTDOWN_GRACE_MS: '60000' });
    const dedupe = await DedupePart.open(c, ['default'], logs.log);
    const commands = new CommandsPart({ config: c, routes, store: dedupe.store, log: logs.log, telemetry: NO_TELEMETRY });
    expect(commands.name).toBe('commands');
    const answers: string[] = [];
    const ch: Channel = { group: 'default', connection: 1, answers: { deliver: (_k, f) => void answers.push(f), crossedOnTheWay: () => false, onItsWay: () => false } };
    commands.handle({ kind: 'command', command: { version: '1.0', id: 'R1', type: 'COMMAND', subType: 'REQUEST', timeStamp: 0, payload: { uri: '/x', method: 'GET', headers: {}, parameters: undefined } } }, ch);
    await until(() => commands.queue.running === 1, 2000, 'the call running');
    expect(commands.pendingOn(1)).toBe(1);
    // A reload shortens the grace period: the stop that follows keeps the new one.
    expect(commands.reload(c, config({ NBWSS_SHUTDOWN_GRACE_MS: '20' }))).toEqual([]);
    await commands.stop();
    expect(aborted).toEqual(['NBW_ERR_REST_TIMEOUT']);
    expect(commands.queue.running).toBe(0);
    expect(JSON.parse(answers[0] as string).payload.responseCode).toBe(504);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', graceMs: 20, msg: 'grace period over; aborting REST calls still running' }));
    await dedupe.stop();
  });

  it('aborts nothing when the calls finish within the grace period, and needs a restart for the queue and protocol keys', async () => {
    const { c, logs, aborted, routes } = part({});
    const dedupe = await DedupePart.open(c, ['default'], logs.log);
    const commands = new CommandsPart({ config: c, routes, store: dedupe.store, log: logs.log, telemetry: NO_TELEMETRY });
    await commands.stop();
    expect(aborted).toEqual([]);
    expect(commands.reload(c, config({ NBWSS_CONCURRENCY: '9', NBWSS_PROTOCOL_EXTENSIONS: 'false', NBWSS_MAX_PENDING: '7' }))).toEqual(['queue.concurrency', 'queue.maxPending', 'protocol.extensions']);
    await dedupe.stop();
  });
});

describe('the dispatcher part', () => {
  it('writes the summary of the drops not logged yet when it stops', () => {
    const logs = captureLog();
    const d = new Dispatcher(logs.log);
    expect(d.name).toBe('dispatcher');
    const ch: Channel = { group: 'g', connection: 1, answers: { deliver: () => {}, crossedOnTheWay: () => false, onItsWay: () => false } };
    for (let i = 0; i < 50; i++) d.dispatch({ kind: 'drop', reason: 'junk' }, ch);
    const before = logs.lines().length;
    d.stop();
    const summary = logs.lines().slice(before);
    expect(summary).toHaveLength(1);
    expect(summary[0]?.suppressed).toBeGreaterThan(0);
  });
});

describe('the groups part', () => {
  const build = (c: Config, queue: Pick<CommandQueue, 'pause' | 'resume'> = new CommandQueue({ concurrency: 1, maxPending: 1 })) => {
    const logs = captureLog();
    const dispatched: [string, Channel][] = [];
    const dispatcher = { dispatch: (m: { kind: string }, ch: Channel) => void dispatched.push([m.kind, ch]) } as unknown as Dispatcher;
    return DedupePart.open(c, ['east', 'west'], logs.log).then((dedupe) => ({
      logs, dispatched, dedupe,
      part: new GroupsPart({ config: c, dispatcher, store: dedupe.store, queue, pendingOn: () => 0, log: logs.log, telemetry: NO_TELEMETRY }),
    }));
  };

  it('builds a link, courier and outbox per group, and hands each inbound message to the dispatcher with its channel', async () => {
    const { part, dispatched, dedupe } = await build(config({ NBWSS_CLOUD_URL: '' }, endpoints('east', 'west')));
    expect(part.name).toBe('groups');
    expect([...part.groups.keys()]).toEqual(['east', 'west']);
    const east = part.groups.get('east');
    east?.link.emit('inbound', { kind: 'notification-response', id: 'N1' }, 7);
    expect(dispatched).toHaveLength(1);
    expect(dispatched[0]?.[0]).toBe('notification-response');
    expect(dispatched[0]?.[1]).toMatchObject({ group: 'east', connection: 7 });
    expect(dispatched[0]?.[1].answers).toBe(east?.courier);
    expect(part.ready).toBe(false);
    expect(part.describe()).toBe('group east: not connected; group west: not connected');
    Object.defineProperty(part.groups.get('west')?.link, 'ready', { get: () => true });
    expect(part.ready).toBe(true);
    await part.stop();
    await dedupe.stop();
  });

  it('tells the courier when its link is ready, down or closed', async () => {
    const { part, dedupe } = await build(config({ NBWSS_CLOUD_URL: '' }, endpoints('east')));
    const g = part.groups.get('east');
    if (!g) throw new Error('no group east');
    const calls: string[] = [];
    g.courier.flush = () => void calls.push('flush');
    g.courier.down = () => void calls.push('down');
    g.courier.closed = (info) => void calls.push(`closed ${info.connection}`);
    g.link.emit('ready', { connection: 3 });
    g.link.emit('down', { connection: 3, reason: 'lost' });
    g.link.emit('closed', { connection: 3, peerCode: null, largest: null });
    expect(calls).toEqual(['flush', 'down', 'closed 3']);
    await part.stop();
    await dedupe.stop();
  });

  it('counts what its outboxes hold, and says at stop how many answers had no connection', async () => {
    const { part, logs, dedupe } = await build(config({ NBWSS_CLOUD_URL: '' }, endpoints('east', 'west')));
    for (const [name, g] of part.groups) g.outbox.hold({ id: `${name}:A`, frame: 'x'.repeat(10), seq: 1, entry: undefined });
    expect(part.outboxBytes).toBe(20);
    await part.stop();
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', answers: 2 }));
    for (const g of part.groups.values()) expect(g.link.state).toBe('stopped');
    await dedupe.stop();
  });

  it('says nothing at stop when nothing is held', async () => {
    const { part, logs, dedupe } = await build(config({ NBWSS_CLOUD_URL: '' }, endpoints('east')));
    await part.stop();
    expect(logs.lines().filter((l) => l.answers !== undefined)).toEqual([]);
    await dedupe.stop();
  });

  it('logs as its link and courier, with the group', async () => {
    const { part, logs, dedupe } = await build(config({ NBWSS_CLOUD_URL: '', NBWSS_RECONNECT_MIN_MS: '5000', NBWSS_RECONNECT_MAX_MS: '5000' }, endpoints('east')));
    const g = part.groups.get('east');
    g?.outbox.hold({ id: 'east:A', frame: '{}', seq: 1, entry: undefined });
    g?.link.emit('ready', { connection: 1 });
    part.start();
    await until(() => logs.lines().some((l) => l.mod === 'link'), 5000, 'a line from the link');
    expect(logs.lines().find((l) => l.mod === 'link')).toMatchObject({ group: 'east' });
    expect(logs.lines().find((l) => l.mod === 'courier')).toMatchObject({ group: 'east', msg: 'sending answers held while no connection was up' });
    await part.stop();
    await dedupe.stop();
  });

  it('takes new endpoints of its groups; a group added or removed, and the link timings, need a restart', async () => {
    const { part, dedupe } = await build(config({ NBWSS_CLOUD_URL: '' }, endpoints('east', 'west')));
    const prev = config({ NBWSS_CLOUD_URL: '' }, endpoints('east', 'west'));
    expect(part.reload(prev, config({ NBWSS_CLOUD_URL: '' }, endpoints('east', 'west')))).toEqual([]);
    expect(part.reload(prev, config({ NBWSS_CLOUD_URL: '', NBWSS_HEARTBEAT_MS: '5000' }, endpoints('east', 'north')))).toEqual([
      'heartbeat.intervalMs', 'cloud.endpoints (new group north)', 'cloud.endpoints (group west removed)',
    ]);
    await part.stop();
    await dedupe.stop();
  });

  it('holds back and lets go the calls of its own group only', () => {
    const seen: string[] = [];
    const t = laneThrottle({ pause: (l?: string) => void seen.push(`pause ${l}`), resume: (l?: string) => void seen.push(`resume ${l}`) }, 'east');
    t.pause();
    t.resume();
    expect(seen).toEqual(['pause east', 'resume east']);
  });
});

describe('the notifications part', () => {
  const keyFile = () => {
    const f = join(dir(), 'apikey');
    writeFileSync(f, 'nb-poll-key\n', { mode: 0o600 });
    return f;
  };
  const on = (state: string, extra: Record<string, string> = {}) => config({ NBWSS_STATE_DIR: state, NBWSS_NOTIFY_JOBS: 'true', NBWSS_NOTIFY_API_KEY_FILE: keyFile(), NBWSS_NOTIFY_POLL_MS: '600000', ...extra });

  it('is wanted when a type is on and the loader read the key and checked state.dir', () => {
    expect(NotificationsPart.wanted(on(dir()))).toBe(true);
    expect(NotificationsPart.wanted(config())).toBe(false);
    const c = on(dir());
    expect(NotificationsPart.wanted({ ...c, state: { dir: null } } as Config)).toBe(false);
    expect(NotificationsPart.wanted({ ...c, notifications: { ...c.notifications, apiKey: null } } as Config)).toBe(false);
    expect(NotificationsPart.wanted({ ...c, notifications: { ...c.notifications, jobs: false } } as Config)).toBe(false);
  });

  it('sends what is pending when a link is ready, takes acknowledgements, and needs a restart for its keys', async () => {
    const state = dir();
    const pending = { ...freshState(), pending: [{ id: 'N-1', object: 'JOB', records: [{ jobId: 1 }], groups: ['default'] }] };
    await new StateFile(state).save(() => pending);
    const link = Object.assign(new EventEmitter(), { ready: true, sent: [] as string[], send(text: string) { this.sent.push(JSON.parse(text).id); return 1; } });
    const c = on(state);
    const part = await NotificationsPart.open({ config: c, groups: new Map([['default', link]]), log: captureLog().log, telemetry: NO_TELEMETRY });
    expect(part.name).toBe('notifications');
    expect(part.pendingRecords).toBe(1);
    link.emit('ready');
    expect(link.sent).toEqual(['N-1']);
    part.ack('default', 'N-1');
    expect(part.pendingRecords).toBe(0);
    expect(part.reload(c, on(state, { NBWSS_NOTIFY_BATCH_MAX: '5', NBWSS_REST_BASE_URL: 'https://127.0.0.1:1556' }))).toEqual(['notifications.batchMax']);
    expect(part.reload(c, { ...c, notifications: { ...c.notifications, images: true } } as Config)).toEqual(['notifications.images']);
    await part.stop();
  });
});

describe('the daemon', () => {
  it('stops the commands first (the drain: new requests answered 503 at once, answers out before the links close) and the dedupe part last', async () => {
    const state = dir();
    const key = join(dir(), 'apikey');
    writeFileSync(key, 'k\n', { mode: 0o600 });
    const logs = captureLog();
    const daemon = await Daemon.open(config({ NBWSS_STATE_DIR: state, NBWSS_NOTIFY_JOBS: 'true', NBWSS_NOTIFY_API_KEY_FILE: key, NBWSS_METRICS_LISTEN: '127.0.0.1:0' }), logs.log);
    await daemon.stop('test');
    expect(logs.lines().find((l) => l.msg === 'stopping: new requests are answered 503')?.order).toEqual(['commands', 'notifications', 'groups', 'dispatcher', 'backends', 'metrics', 'dedupe']);
  });
});

describe('the notifications part and its REST API', () => {
  /** A REST API that offers only API 12.0, holds the polls it is told to, and records them. */
  async function restApi() {
    const { createServer } = await import('node:http');
    const seen: { accept: string; closed: boolean }[] = [];
    let hold = false;
    const server = createServer((req, res) => {
      const rec = { accept: String(req.headers.accept), closed: false };
      seen.push(rec);
      req.socket.on('close', () => (rec.closed = true));
      if (hold) return;
      const ok = rec.accept.endsWith('version=12.0');
      res.writeHead(ok ? 200 : 406, { 'content-type': 'application/json' });
      res.end(ok ? '{"data":[]}' : '{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      seen,
      hold: () => void (hold = true),
      close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
    };
  }
  const keyFile = () => {
    const f = join(dir(), 'apikey');
    writeFileSync(f, 'nb-poll-key\n', { mode: 0o600 });
    return f;
  };
  const settings = (rest: string, state: string) => config({ NBWSS_STATE_DIR: state, NBWSS_NOTIFY_JOBS: 'true', NBWSS_NOTIFY_API_KEY_FILE: keyFile(), NBWSS_NOTIFY_POLL_MS: '100', NBWSS_REST_BASE_URL: rest });
  const link = () => Object.assign(new EventEmitter(), { ready: false, send: () => 1 });

  it('follows rest.* on a reload (a new client, the API version found again), and keeps its client when rest.* did not change', async () => {
    const a = await restApi();
    const b = await restApi();
    const state = dir();
    const c = settings(a.url, state);
    const part = await NotificationsPart.open({ config: c, groups: new Map([['default', link()]]), log: captureLog().log, telemetry: NO_TELEMETRY });
    part.start();
    await until(() => a.seen.some((r) => r.accept.endsWith('12.0')), 5000, 'a poll found API 12.0');
    const asked14 = () => a.seen.filter((r) => r.accept.endsWith('14.0')).length;
    part.reload(c, settings(a.url, state));
    const before = a.seen.length;
    await until(() => a.seen.length >= before + 2, 5000, 'two more polls');
    expect(asked14()).toBe(1);
    // A change of rest.* with notifications turned off in the same reload (a restart applies that) leaves the polls where they are.
    const off = settings(b.url, state);
    part.reload(c, { ...off, notifications: { ...off.notifications, jobs: false, apiKey: null } } as Config);
    const seenBefore = a.seen.length;
    await until(() => a.seen.length >= seenBefore + 2, 5000, 'polls still to the first REST API');
    expect(b.seen).toEqual([]);
    // A new time limit or CA is a new client too: the version is found again.
    for (const next of [{ ...c, rest: { ...c.rest, timeoutMs: c.rest.timeoutMs + 1 } }, { ...c, rest: { ...c.rest, ca: 'a CA' } }] as Config[]) {
      const asked = asked14();
      part.reload(c, next);
      await until(() => asked14() > asked, 5000, 'the version asked again');
    }
    part.reload(c, settings(b.url, state));
    await until(() => b.seen.some((r) => r.accept.endsWith('12.0')), 5000, 'polls going to the new REST API');
    expect(b.seen[0]?.accept).toMatch(/version=14\.0$/);
    await part.stop();
    await a.close();
    await b.close();
  });

  it('ends a poll still running when it stops', async () => {
    const api = await restApi();
    api.hold();
    const part = await NotificationsPart.open({ config: settings(api.url, dir()), groups: new Map([['default', link()]]), log: captureLog().log, telemetry: NO_TELEMETRY });
    part.start();
    await until(() => api.seen.length === 1, 5000, 'a poll held by the REST API');
    await part.stop();
    await until(() => api.seen[0]?.closed === true, 5000, 'the held poll ended');
    await api.close();
  });
});
