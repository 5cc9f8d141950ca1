import { describe, expect, it } from 'vitest';
import { AnsweredError } from '../../src/errors.js';
import { CommandQueue, type Job } from '../../src/queue/queue.js';

function job(log: string[], name: string, hold?: Promise<void>): Job & { settled: Promise<void> } {
  let settle!: () => void;
  const settled = new Promise<void>((r) => (settle = r));
  return {
    settled,
    async run() {
      log.push(`start ${name}`);
      await hold;
      log.push(`end ${name}`);
      settle();
    },
    cancel(err) {
      log.push(`cancel ${name} ${err.code}`);
      settle();
    },
  };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('CommandQueue', () => {
  it('runs at most `concurrency` jobs, holds at most `maxPending` more, refuses the rest in the same tick', async () => {
    const q = new CommandQueue({ concurrency: 1, maxPending: 2 });
    const log: string[] = [];
    const gate = deferred();
    const jobs = Array.from({ length: 8 }, (_, i) => job(log, String(i), gate.promise));
    const taken = jobs.map((j) => q.submit(j));
    expect(taken).toEqual([true, true, true, false, false, false, false, false]);
    await Promise.resolve();
    expect(q.running).toBe(1);
    expect(q.waiting).toBe(2);
    gate.resolve();
    await Promise.all(jobs.slice(0, 3).map((j) => j.settled));
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    await q.onIdle();
    expect(q.submit(job(log, 'later'))).toBe(true);
  });

  it('takes nothing beyond concurrency when maxPending is 0', () => {
    const q = new CommandQueue({ concurrency: 2, maxPending: 0 });
    const hold = new Promise<void>(() => {});
    expect([1, 2, 3].map((i) => q.submit(job([], String(i), hold)))).toEqual([true, true, false]);
  });

  it('cancels waiting jobs with the given error and lets running ones finish', async () => {
    const q = new CommandQueue({ concurrency: 1, maxPending: 5 });
    const log: string[] = [];
    const gate = deferred();
    const jobs = [job(log, 'a', gate.promise), job(log, 'b'), job(log, 'c')];
    for (const j of jobs) q.submit(j);
    await Promise.resolve();
    q.cancelWaiting(new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'stop'));
    gate.resolve();
    await q.onIdle();
    expect(log).toEqual(['start a', 'cancel b NBW_ERR_SHUTTING_DOWN', 'cancel c NBW_ERR_SHUTTING_DOWN', 'end a']);
  });

  it('starts nothing while paused and catches up on resume', async () => {
    const q = new CommandQueue({ concurrency: 2, maxPending: 5 });
    const log: string[] = [];
    q.pause();
    const j = job(log, 'p');
    q.submit(j);
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual([]);
    q.resume();
    await j.settled;
    expect(log).toEqual(['start p', 'end p']);
  });

  it('holds back only the paused lane: its jobs wait aside without a slot, the other lanes run', async () => {
    const q = new CommandQueue({ concurrency: 1, maxPending: 5 });
    const log: string[] = [];
    q.pause('slow');
    const a = job(log, 'slow-1');
    const b = job(log, 'slow-2');
    const c = job(log, 'fast-1');
    q.submit(a, 'slow');
    q.submit(b, 'slow');
    q.submit(c, 'fast');
    await c.settled;
    expect(log).toEqual(['start fast-1', 'end fast-1']);
    expect(q.waiting).toBe(2);
    q.resume('slow');
    await Promise.all([a.settled, b.settled]);
    expect(log).toEqual(['start fast-1', 'end fast-1', 'start slow-1', 'end slow-1', 'start slow-2', 'end slow-2']);
    await q.onIdle();
  });

  it('counts jobs waiting in a paused lane against maxPending, and cancels them too', async () => {
    const q = new CommandQueue({ concurrency: 1, maxPending: 1 });
    const log: string[] = [];
    q.pause('slow');
    expect([job(log, '1'), job(log, '2'), job(log, '3')].map((j) => q.submit(j, 'slow'))).toEqual([true, true, false]);
    await new Promise((r) => setTimeout(r, 10));
    q.cancelWaiting(new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'stop'));
    expect(log).toEqual(['cancel 1 NBW_ERR_SHUTTING_DOWN', 'cancel 2 NBW_ERR_SHUTTING_DOWN']);
    await q.onIdle();
  });
});
