// The command service without I/O: a RestCaller of our own in memory, answers collected.
import { describe, expect, it } from 'vitest';
import { CommandService, type Channel, type CommandMessage } from '../../src/bridge/commands.js';
import { AnsweredError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { Policy } from '../../src/policy/allow.js';
import { decodeFrame, type Inbound } from '../../src/protocol/codec.js';
import type { CommandRequest, CommandResponsePayload } from '../../src/protocol/envelope.js';
import { CommandQueue } from '../../src/queue/queue.js';
import { IdStore } from '../../src/dedupe/idstore.js';
import type { Routing } from '../../src/backends/router.js';
import type { Logger } from '../../src/log/logger.js';
import { NO_TELEMETRY, type Telemetry } from '../../src/metrics/telemetry.js';
import type { Journal, JournalRecord } from '../../src/dedupe/journal.js';
import type { RouteTarget } from '../../src/backends/router.js';
import type { RestCall } from '../../src/rest/client.js';

class MemoryRest implements Pick<RouteTarget, 'call'> {
  calls: RestCall[] = [];
  constructor(private readonly answer: (req: RestCall) => Promise<CommandResponsePayload>) {}
  call(req: RestCall) {
    this.calls.push(req);
    return this.answer(req);
  }
}

function service(
  answer: (req: RestCall) => Promise<CommandResponsePayload>,
  queue = { concurrency: 2, maxPending: 1 },
  journal: Journal | null = null,
  opts: { restored?: JournalRecord[]; crossed?: boolean; onItsWay?: boolean; maxBytes?: number; telemetry?: Telemetry; log?: Logger; extensions?: boolean } = {},
) {
  const rest = new MemoryRest(answer);
  const answers: { id: string; status: number; frame: Record<string, any> }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const policy = new Policy({ allowedPaths: ['/netbackup/'], allowedMethods: ['GET', 'POST'] });
  const target = Object.assign(rest, { name: 'memory' });
  const store = new IdStore({ ttlMs: 60_000, maxEntries: 100, maxBytes: opts.maxBytes ?? 1 << 20, journal, log: silentLogger() });
  if (opts.restored) store.restore(opts.restored);
  const commandQueue = new CommandQueue(queue);
  const svc = new CommandService({
    routes: { route: (method, uri) => { const r = policy.check(method, uri); return r.ok ? { ok: true, path: r.path, backend: target } : r; } },
    queue: commandQueue,
    store,
    log: opts.log ?? silentLogger(),
    ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
    ...(opts.extensions === undefined ? {} : { extensions: opts.extensions }),
  });
  const channel: Channel = {
    group: 'default',
    connection: 1,
    answers: {
      deliver: (key, text) => {
        const frame = JSON.parse(text);
        expect(key).toBe(`default:${frame.id}`);
        answers.push({ id: frame.id, status: frame.payload.responseCode, frame });
      },
      crossedOnTheWay: () => opts.crossed ?? false,
      onItsWay: () => opts.onItsWay ?? false,
    },
  };
  const api = {
    accept: (c: CommandRequest) => svc.accept(c, channel),
    handle: (m: CommandMessage) => svc.handle(m, channel),
    stopAccepting: () => svc.stopAccepting(),
    pendingOn: (n: number) => svc.pendingOn(n),
  };
  return { store, svc: api, rest, answers, queue: commandQueue };
}

const cmd = (id: string, uri = '/netbackup/x', method = 'GET', extra: Record<string, unknown> = {}): CommandRequest => {
  const m = decodeFrame(JSON.stringify({ version: '1.0', id, type: 'COMMAND', subType: 'REQUEST', timeStamp: 1, payload: { uri, method, headers: { Authorization: 'jwt', Connection: 'close' }, ...extra } }));
  if (m.kind !== 'command') throw new Error('bad test command');
  return m.command;
};

const OK: CommandResponsePayload = { headers: { 'content-type': 'application/json' }, responseCode: 200, body: '{}' };
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('CommandService', () => {
  it('replays an allowed command with filtered headers and the decoded body, and answers under its id', async () => {
    const { svc, rest, answers } = service(async () => OK);
    svc.accept(cmd('A', '/netbackup/x?q=1 2', 'POST', { parameters: { a: 1 } }));
    await tick();
    expect(rest.calls).toEqual([{ method: 'POST', path: '/netbackup/x?q=1%202', headers: { authorization: 'jwt' }, body: '{"a":1}' }]);
    expect(answers).toEqual([{ id: 'A', status: 200, frame: expect.objectContaining({ id: 'A', payload: OK }) }]);
  });

  it('answers policy refusals and invalid envelopes without calling the REST API', async () => {
    const { svc, rest, answers } = service(async () => OK);
    svc.accept(cmd('P', '/etc/passwd'));
    svc.accept(cmd('M', '/netbackup/x', 'DELETE'));
    svc.handle({ kind: 'invalid', id: 'I', error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', 'bad') });
    expect(answers.map((a) => [a.id, a.status])).toEqual([['P', 403], ['M', 403], ['I', 400]]);
    expect(rest.calls).toEqual([]);
  });

  it('answers 503 past the queue bounds and each id exactly once', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { svc, answers } = service(async () => {
      await held;
      return OK;
    });
    for (const id of ['1', '2', '3', '4', '5']) svc.accept(cmd(id));
    expect(answers.map((a) => [a.id, a.status])).toEqual([['4', 503], ['5', 503]]);
    expect(svc.pendingOn(1)).toBe(3);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(answers.map((a) => a.id).sort()).toEqual(['1', '2', '3', '4', '5']);
    expect(svc.pendingOn(1)).toBe(0);
  });

  it('maps REST failures to their answers, and unknown errors to 502', async () => {
    const { svc, answers } = service(async (req) => {
      if (req.path === '/netbackup/timeout') throw new AnsweredError('NBW_ERR_REST_TIMEOUT', 't');
      throw new Error('surprise');
    });
    svc.accept(cmd('T', '/netbackup/timeout'));
    svc.accept(cmd('U', '/netbackup/other'));
    await tick();
    expect(answers.map((a) => [a.id, a.status, JSON.parse(a.frame.payload.body).details.code])).toEqual([
      ['T', 504, 'NBW_ERR_REST_TIMEOUT'],
      ['U', 502, 'NBW_ERR_REST_FAILED'],
    ]);
  });

  it('answers 503 to new and waiting requests once it stops accepting, while running ones finish', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { svc, answers } = service(async () => {
      await held;
      return OK;
    }, { concurrency: 1, maxPending: 5 });
    svc.accept(cmd('RUN'));
    svc.accept(cmd('WAIT'));
    await tick();
    svc.stopAccepting();
    svc.accept(cmd('NEW'));
    expect(answers.map((a) => [a.id, a.status])).toEqual([['WAIT', 503], ['NEW', 503]]);
    release();
    await tick();
    expect(answers.map((a) => [a.id, a.status])).toContainEqual(['RUN', 200]);
  });

  it('answers 500 NBW_ERR_INTERNAL when serving a request fails unexpectedly, and keeps serving', async () => {
    const { svc, answers } = service(async () => OK);
    const routes = { calls: 0 };
    const broken = new CommandService({
      routes: { route: () => { routes.calls++; throw new RangeError('Maximum call stack size exceeded'); } },
      queue: new CommandQueue({ concurrency: 1, maxPending: 1 }),
      store: new IdStore({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20, journal: null, log: silentLogger() }),
      log: silentLogger(),
    });
    const got: string[] = [];
    const ch: Channel = { group: 'default', connection: 1, answers: { deliver: (_k, text) => got.push(text), crossedOnTheWay: () => false, onItsWay: () => false } };
    expect(() => broken.handle({ kind: 'command', command: cmd('X') }, ch)).not.toThrow();
    const answer = JSON.parse(got[0] as string);
    expect(answer).toMatchObject({ id: 'X', payload: { responseCode: 500 } });
    expect(JSON.parse(answer.payload.body).details.code).toBe('NBW_ERR_INTERNAL');
    expect(routes.calls).toBe(1);
    svc.accept(cmd('Y'));
    await tick();
    expect(answers.map((a) => a.id)).toEqual(['Y']);
  });

  it('starts the REST call only once its "started" record is on disk, and sends the answer only once its "done" record is', async () => {
    const writes: { rec: JournalRecord; done: () => void }[] = [];
    const journal = { bytes: 0, append: (rec: JournalRecord) => new Promise<void>((done) => writes.push({ rec, done })), compact: async () => {} } as unknown as Journal;
    const { svc, rest, answers } = service(async () => OK, { concurrency: 2, maxPending: 1 }, journal);
    svc.accept(cmd('J', '/netbackup/x', 'POST'));
    await tick();
    expect(writes.map((w) => [w.rec.t, w.rec.g, w.rec.id])).toEqual([['s', 'default', 'J']]);
    expect(rest.calls).toHaveLength(0);
    writes[0]?.done();
    await tick();
    expect(rest.calls).toHaveLength(1);
    expect(writes.map((w) => w.rec.t)).toEqual(['s', 'd']);
    expect(answers).toHaveLength(0);
    // A repeat while the answer is on its way to disk waits for it: one answer, not two.
    svc.accept(cmd('J', '/netbackup/x', 'POST'));
    await tick();
    expect(answers).toHaveLength(0);
    writes[1]?.done();
    await tick();
    expect(answers.map((a) => [a.id, a.status])).toEqual([['J', 200]]);
    expect(rest.calls).toHaveLength(1);
  });

  it('after a restart: an interrupted GET or HEAD runs again, any other interrupted method is answered 409 and never run', async () => {
    const restored: JournalRecord[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => ({ t: 's', g: 'default', id: `I-${m}`, m, at: Date.now() }));
    const { svc, rest, answers } = service(async () => OK, { concurrency: 8, maxPending: 8 }, null, { restored });
    const methods = { 'I-GET': 'GET', 'I-HEAD': 'HEAD', 'I-POST': 'POST', 'I-PUT': 'PUT', 'I-PATCH': 'PATCH', 'I-DELETE': 'DELETE' };
    for (const [id, m] of Object.entries(methods)) svc.accept(cmd(id, '/netbackup/x', m === 'HEAD' || m === 'GET' ? 'GET' : 'POST'));
    await tick();
    expect(rest.calls).toHaveLength(2);
    const byId = Object.fromEntries(answers.map((a) => [a.id, a]));
    expect(byId['I-GET']?.status).toBe(200);
    expect(byId['I-HEAD']?.status).toBe(200);
    for (const id of ['I-POST', 'I-PUT', 'I-PATCH', 'I-DELETE']) {
      expect(byId[id]?.status).toBe(409);
      const body = JSON.parse(byId[id]?.frame.payload.body);
      expect(body.details.code).toBe('NBW_ERR_OUTCOME_UNKNOWN');
      expect(body.errorMessage).toContain(methods[id as keyof typeof methods]);
    }
    // The 409 is stored: asking again gets it again, still without a call.
    svc.accept(cmd('I-POST', '/netbackup/x', 'POST'));
    await tick();
    expect(answers.filter((a) => a.id === 'I-POST').map((a) => a.status)).toEqual([409, 409]);
    expect(rest.calls).toHaveLength(2);
  });

  it('a repeat of an id whose answer was released gets 503 "response expired", unless it crossed that answer on this connection', async () => {
    const restored: JournalRecord[] = [{ t: 'e', g: 'default', id: 'GONE', m: 'POST', at: Date.now() }];
    const plain = service(async () => OK, undefined, null, { restored });
    plain.svc.accept(cmd('GONE', '/netbackup/x', 'POST'));
    expect(plain.answers.map((a) => [a.id, a.status, JSON.parse(a.frame.payload.body).details.code])).toEqual([['GONE', 503, 'NBW_ERR_RESPONSE_EXPIRED']]);
    const crossed = service(async () => OK, undefined, null, { restored, crossed: true });
    crossed.svc.accept(cmd('GONE', '/netbackup/x', 'POST'));
    expect(crossed.answers).toEqual([]);
    expect(plain.rest.calls).toEqual([]);
    expect(crossed.rest.calls).toEqual([]);
  });

  it('a repeat of an answered id gets the stored answer again, unless it crossed that answer on this connection', async () => {
    const done: JournalRecord[] = [{ t: 'd', g: 'default', id: 'D', m: 'POST', at: Date.now(), f: '{"id":"D","payload":{"responseCode":201}}' }];
    const plain = service(async () => OK, undefined, null, { restored: done });
    plain.svc.accept(cmd('D', '/netbackup/x', 'POST'));
    await tick();
    expect(plain.answers.map((a) => [a.id, a.status])).toEqual([['D', 201]]);
    expect(plain.rest.calls).toHaveLength(0);
    const crossed = service(async () => OK, undefined, null, { restored: done, crossed: true });
    crossed.svc.accept(cmd('D', '/netbackup/x', 'POST'));
    await tick();
    expect(crossed.answers).toEqual([]);
    expect(crossed.rest.calls).toHaveLength(0);
    const onItsWay = service(async () => OK, undefined, null, { restored: done, onItsWay: true });
    onItsWay.svc.accept(cmd('D', '/netbackup/x', 'POST'));
    await tick();
    expect([onItsWay.answers, onItsWay.rest.calls]).toEqual([[], []]);
  });

  it('treats a malformed resend of an id already accepted as a repeat: no second, different answer', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { svc, answers } = service(async () => {
      await held;
      return OK;
    });
    svc.accept(cmd('X1', '/netbackup/x', 'POST'));
    await tick();
    svc.handle({ kind: 'invalid', id: 'X1', error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', 'bad method') });
    expect(answers).toEqual([]);
    release();
    await tick();
    svc.handle({ kind: 'invalid', id: 'X1', error: new AnsweredError('NBW_ERR_TOO_LARGE', 'too large') });
    expect(answers.map((a) => [a.id, a.status])).toEqual([['X1', 200], ['X1', 200]]);
  });

  it('journals the method the backend receives (AhsayCBS sends a GET as POST), so a crash never runs it twice', async () => {
    const writes: JournalRecord[] = [];
    const journal = { bytes: 0, append: async (rec: JournalRecord) => void writes.push(rec), compact: async () => {} } as unknown as Journal;
    const rest = new MemoryRest(async () => OK);
    const target = Object.assign(rest, { name: 'ahsay', methodSent: (m: string) => (m === 'GET' ? 'POST' : m) });
    const svc = new CommandService({
      routes: { route: (_m, uri) => ({ ok: true, path: uri, backend: target }) },
      queue: new CommandQueue({ concurrency: 1, maxPending: 1 }),
      store: new IdStore({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20, journal, log: silentLogger() }),
      log: silentLogger(),
    });
    const ch: Channel = { group: 'default', connection: 1, answers: { deliver: () => {}, crossedOnTheWay: () => false, onItsWay: () => false } };
    svc.accept(cmd('A1', '/obs/api/json/2/AddUser.do', 'GET'), ch);
    await tick();
    expect(writes.map((w) => [w.t, w.m])).toEqual([['s', 'POST'], ['d', 'POST']]);
  });

  /** Telemetry of our own: which hooks were called with what. */
  const recorder = () => {
    const calls: [string, ...unknown[]][] = [];
    const t: Telemetry = { ...NO_TELEMETRY };
    for (const name of Object.keys(NO_TELEMETRY) as (keyof Telemetry)[]) (t as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => calls.push([name, ...args]);
    return { t, calls };
  };
  const body = (a: { frame: Record<string, any> }) => JSON.parse(a.frame.payload.body); // eslint-disable-line @typescript-eslint/no-explicit-any

  it('counts how each repeat was served, and REST durations in seconds', async () => {
    const { t, calls } = recorder();
    const restored: JournalRecord[] = [
      { t: 'd', g: 'default', id: 'D', m: 'GET', at: Date.now(), f: '{"id":"D","payload":{"responseCode":200}}' },
      { t: 'e', g: 'default', id: 'E', m: 'GET', at: Date.now() },
      { t: 's', g: 'default', id: 'P', m: 'POST', at: Date.now() },
    ];
    const { svc } = service(async () => OK, undefined, null, { restored, telemetry: t });
    svc.accept(cmd('D'));
    svc.accept(cmd('E'));
    svc.accept(cmd('P', '/netbackup/x', 'POST'));
    svc.accept(cmd('NEW'));
    svc.accept(cmd('NEW'));
    await tick();
    expect(calls.filter((c) => c[0] === 'dedupeHit').map((c) => c[1])).toEqual(['replayed', 'expired', 'outcome_unknown', 'attached']);
    const durations = calls.filter((c) => c[0] === 'restDuration');
    expect(durations).toHaveLength(1);
    expect(durations[0]?.[1]).toBe(calls.find((c) => c[0] === 'answered' && c[3] === 200)?.[1]);
    expect(durations[0]?.[2]).toBe('GET');
    expect(durations[0]?.[3]).toBeGreaterThanOrEqual(0);
    expect(durations[0]?.[3]).toBeLessThan(5);
    expect(calls.filter((c) => c[0] === 'answered' && c[3] === 409).map((c) => c[1])).toEqual(['none']);
    const crossed = recorder();
    const c = service(async () => OK, undefined, null, { restored, telemetry: crossed.t, crossed: true });
    c.svc.accept(cmd('D'));
    c.svc.accept(cmd('E'));
    expect(crossed.calls.filter((x) => x[0] === 'dedupeHit').map((x) => x[1])).toEqual(['crossed', 'crossed']);
    const onItsWay = recorder();
    const w = service(async () => OK, undefined, null, { restored, telemetry: onItsWay.t, onItsWay: true });
    w.svc.accept(cmd('D'));
    expect(w.answers).toEqual([]);
    expect(onItsWay.calls.filter((x) => x[0] === 'dedupeHit').map((x) => x[1])).toEqual(['attached']);
  });

  it('says what went wrong in each answer it gives itself', async () => {
    const { svc, answers } = service(async () => { throw new Error('surprise'); }, { concurrency: 1, maxPending: 0 });
    svc.accept(cmd('A'));
    svc.accept(cmd('B'));
    await tick();
    svc.stopAccepting();
    svc.accept(cmd('C'));
    const byId = Object.fromEntries(answers.map((a) => [a.id, body(a).errorMessage]));
    expect(byId.B).toMatch(/^the bridge queue is full; send the request again later$/);
    expect(byId.A).toMatch(/^REST call failed$/);
    expect(byId.C).toMatch(/^the bridge is shutting down; send the request again later$/);
    const expired = service(async () => OK, undefined, null, { restored: [{ t: 'e', g: 'default', id: 'E', m: 'GET', at: Date.now() }] });
    expired.svc.accept(cmd('E'));
    expect(body(expired.answers[0] as never).errorMessage).toMatch(/^response expired: this id was already executed/);
  });

  it('frees the queue slot only once the answer is stored, and releases its hold on the answer once delivered', async () => {
    const writes: { rec: JournalRecord; done: () => void }[] = [];
    const journal = { bytes: 0, append: (rec: JournalRecord) => new Promise<void>((done) => writes.push({ rec, done })), compact: async () => {} } as unknown as Journal;
    const { svc, queue, store } = service(async () => OK, { concurrency: 1, maxPending: 1 }, journal, { maxBytes: 1024 });
    svc.accept(cmd('J', '/netbackup/x', 'POST'));
    await tick();
    writes[0]?.done();
    await tick();
    expect(queue.running).toBe(1);
    writes[1]?.done();
    await tick();
    expect(queue.running).toBe(0);
    expect(store.get('default:J')?.pins).toBe(0);
  });

  it('answers 500 for an invalid request when handling it fails', () => {
    const broken = { warn: () => { throw new Error('log full'); }, error: () => {}, info: () => {}, debug: () => {}, isLevelEnabled: () => false } as unknown as Logger;
    const { svc, answers } = service(async () => OK, undefined, null, { log: broken });
    svc.handle({ kind: 'invalid', id: 'I', error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', 'bad') });
    expect(answers.map((a) => [a.id, a.status])).toEqual([['I', 500]]);
  });

  it('attaches a repeat of an id still waiting in the queue to it: it runs once', async () => {
    let release: () => void = () => {};
    const { svc, rest, answers } = service(() => new Promise((r) => (release = () => r(OK))), { concurrency: 1, maxPending: 5 });
    svc.accept(cmd('RUN'));
    svc.accept(cmd('WAIT'));
    await tick();
    svc.accept(cmd('WAIT'));
    release();
    await tick();
    await tick();
    release();
    for (let i = 0; i < 5; i++) await tick();
    expect(rest.calls).toHaveLength(2);
    expect(answers.filter((a) => a.id === 'WAIT')).toHaveLength(1);
  });

  it('sends a body that cannot travel as text as base64 by default, and answers it 502 with extensions off; text goes either way', async () => {
    const BIN: CommandResponsePayload = { headers: { 'content-type': 'application/pdf' }, responseCode: 200, body: 'AAEC', bodyEncoding: 'base64' };
    const on = service(async (req) => (req.path.endsWith('/bin') ? BIN : OK));
    on.svc.accept(cmd('B1', '/netbackup/bin'));
    await tick();
    expect(on.answers[0]?.frame.payload).toMatchObject({ responseCode: 200, bodyEncoding: 'base64' });
    const off = service(async (req) => (req.path.endsWith('/bin') ? BIN : OK), undefined, null, { extensions: false });
    off.svc.accept(cmd('B2', '/netbackup/bin'));
    off.svc.accept(cmd('T2', '/netbackup/text'));
    await tick();
    await tick();
    const byId = Object.fromEntries(off.answers.map((a) => [a.id, a]));
    expect(byId.B2?.status).toBe(502);
    expect(JSON.parse(byId.B2?.frame.payload.body)).toEqual({ errorCode: 502, errorMessage: expect.stringMatching(/cannot travel as text/) });
    expect(byId.T2?.status).toBe(200);
  });
});
