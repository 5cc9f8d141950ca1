// The daemon's loop over its parts, and the dispatcher that hands each inbound message to one.
import { describe, expect, it } from 'vitest';
import type { Channel } from '../../src/bridge/commands.js';
import { Dispatcher } from '../../src/bridge/dispatch.js';
import type { Config } from '../../src/config/load.js';
import { AnsweredError } from '../../src/errors.js';
import { reloadAll, startAll, stopAll } from '../../src/lifecycle/parts.js';
import { changedKeys, dormant, type Part } from '../../src/part.js';
import { captureLog } from '../support/log.js';

function recorder() {
  const events: string[] = [];
  const part = (name: string, over: Partial<Part> = {}): Part => ({
    name,
    start: () => void events.push(`start ${name}`),
    stop: () => void events.push(`stop ${name}`),
    ...over,
  });
  return { events, part };
}

const cfg = (over: Record<string, unknown> = {}) => ({ queue: { concurrency: 4, maxPending: 10 }, log: { level: 'info' }, ...over }) as unknown as Config;

describe('the parts loop', () => {
  it('starts in order and stops in reverse', async () => {
    const { events, part } = recorder();
    const parts = [part('a'), part('b'), part('c')];
    const { log } = captureLog();
    await startAll(parts, log);
    await stopAll(parts, log);
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('stops the parts already started, and the one that failed, when one fails to start, and throws its error', async () => {
    const { events, part } = recorder();
    const boom = new Error('cannot listen');
    const parts = [part('a'), part('b', { start: () => Promise.reject(boom) }), part('c')];
    await expect(startAll(parts, captureLog().log)).rejects.toBe(boom);
    expect(events).toEqual(['start a', 'stop b', 'stop a']);
  });

  it('stops every part even when one fails to stop, and logs which', async () => {
    const { events, part } = recorder();
    const logs = captureLog();
    const parts = [part('a'), part('b', { stop: () => { throw new Error('stuck'); } }), part('c')];
    await stopAll(parts, logs.log);
    expect(events).toEqual(['stop c', 'stop a']);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ part: 'b', code: 'NBW_ERR_INTERNAL', msg: 'a part failed to stop; stopping the others' }));
  });

  it('skips parts without a start or stop', async () => {
    const { events, part } = recorder();
    const parts: Part[] = [{ name: 'bare' }, part('a')];
    await startAll(parts, captureLog().log);
    await stopAll(parts, captureLog().log);
    expect(events).toEqual(['start a', 'stop a']);
  });

  it('collects the restart-only keys of every part once each, in order, and offers the new configuration to all', () => {
    const seen: string[] = [];
    const parts: Part[] = [
      { name: 'a', reload: () => (seen.push('a'), ['queue.concurrency']) },
      { name: 'b' },
      { name: 'c', reload: () => (seen.push('c'), ['metrics.listen', 'queue.concurrency']) },
    ];
    expect(reloadAll(parts, cfg(), cfg())).toEqual(['queue.concurrency', 'metrics.listen']);
    expect(seen).toEqual(['a', 'c']);
  });

  it('names the keys that changed, nested objects compared by value', () => {
    const prev = cfg();
    expect(changedKeys(prev, cfg(), ['queue.concurrency', 'queue'])).toEqual([]);
    expect(changedKeys(prev, cfg({ queue: { concurrency: 8, maxPending: 10 } }), ['queue.concurrency', 'queue.maxPending', 'queue'])).toEqual(['queue.concurrency', 'queue']);
    expect(changedKeys(prev, cfg(), ['no.such.key'])).toEqual([]);
  });

  it('says a part that is off needs a restart to turn on', () => {
    const off = dormant('metrics', ['metrics.listen']);
    expect(off.reload?.(cfg({ metrics: { listen: null } }), cfg({ metrics: { listen: '127.0.0.1:9464' } }))).toEqual(['metrics.listen']);
    expect(off.reload?.(cfg({ metrics: { listen: null } }), cfg({ metrics: { listen: null } }))).toEqual([]);
    expect(off.start).toBeUndefined();
  });
});

describe('the dispatcher', () => {
  const channel = (connection = 1): Channel => ({ group: 'g', connection, answers: { deliver: () => {}, crossedOnTheWay: () => false, onItsWay: () => false } });
  const cmd = { kind: 'command' as const, command: { version: '1.0' as const, id: 'C1', type: 'COMMAND' as const, subType: 'REQUEST' as const, timeStamp: 0, payload: { uri: '/x', method: 'GET' as const, headers: {}, parameters: undefined } } };

  it('hands each kind to the one handler registered for it, with its channel', () => {
    const got: string[] = [];
    const d = new Dispatcher(captureLog().log)
      .on('command', (m, ch) => got.push(`command ${m.command.id} on ${ch.group}/${ch.connection}`))
      .on('notification-response', (m, ch) => got.push(`ack ${m.id} on ${ch.group}`));
    d.dispatch(cmd, channel(3));
    d.dispatch({ kind: 'notification-response', id: 'N1' }, channel());
    expect(got).toEqual(['command C1 on g/3', 'ack N1 on g']);
  });

  it('refuses a second handler for a kind', () => {
    const d = new Dispatcher(captureLog().log).on('command', () => {});
    expect(() => d.on('command', () => {})).toThrow(/already registered/);
  });

  it('logs and drops what no part handles, naming the code and the reason', () => {
    const logs = captureLog();
    const d = new Dispatcher(logs.log);
    d.dispatch({ kind: 'drop', reason: 'frame is not JSON' }, channel());
    d.dispatch({ kind: 'notification-response', id: 'N9' }, channel());
    d.dispatch(cmd, channel());
    d.dispatch({ kind: 'invalid', id: 'I1', error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', 'bad') }, channel());
    const lines = logs.lines();
    expect(lines[0]).toMatchObject({ level: 'warn', code: 'NBW_ERR_FRAME_DROPPED', reason: 'frame is not JSON', msg: 'dropped a message' });
    expect(lines[1]).toMatchObject({ code: 'NBW_ERR_FRAME_DROPPED', id: 'N9', msg: 'dropped a NOTIFICATION RESPONSE for no notification sent' });
    expect(lines[2]).toMatchObject({ id: 'C1', msg: 'dropped a COMMAND REQUEST: nothing serves commands here' });
    expect(lines[3]).toMatchObject({ id: 'I1', msg: 'dropped an invalid message: nothing serves commands here' });
  });

  it('limits the drops a peer can cause per connection', () => {
    const logs = captureLog();
    const d = new Dispatcher(logs.log);
    for (let i = 0; i < 100; i++) d.dispatch({ kind: 'drop', reason: 'x' }, channel(1));
    const dropped = logs.lines().filter((l) => String(l.msg).startsWith('dropped a message'));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.length).toBeLessThan(100);
  });

  it('keeps going when a handler throws, and logs it', () => {
    const logs = captureLog();
    let after = 0;
    const d = new Dispatcher(logs.log)
      .on('command', () => { throw new RangeError('Maximum call stack size exceeded'); })
      .on('notification-response', () => void after++);
    expect(() => d.dispatch(cmd, channel())).not.toThrow();
    d.dispatch({ kind: 'notification-response', id: 'N' }, channel());
    expect(after).toBe(1);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'error', kind: 'command', id: 'C1', code: 'NBW_ERR_INTERNAL' }));
  });

  it('keeps going when even the logger throws', () => {
    const broken = { error: () => { throw new Error('log full'); }, warn: () => {} } as never;
    const d = new Dispatcher(broken).on('command', () => { throw new Error('x'); });
    expect(() => d.dispatch(cmd, channel())).not.toThrow();
  });
});
