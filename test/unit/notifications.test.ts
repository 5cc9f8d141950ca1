import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { imageRecord, pollImages } from '../../src/notifications/images.js';
import { jobRecord, pollJobs, type Get } from '../../src/notifications/jobs.js';
import { retryAfterMs } from '../../src/notifications/nbapi.js';
import { freshState, loadNotifyState, StateFile, STATE_FILE } from '../../src/notifications/store.js';
import { epochSeconds, SCHEDULE_TYPES, scheduleType, UnknownValues } from '../../src/notifications/vocabulary.js';
import { NbSim } from '../../src/demo/nb-sim.js';
import type { RecordedRequest } from '../../src/demo/fake-rest.js';

const quiet = () => new UnknownValues(() => {});

/** Answers polls from an NbSim without sockets (the sim's own handler, given a fake response). */
function simGet(sim: NbSim): Get {
  return async (path, query) => {
    const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    let status = 0;
    let body = '';
    const res = { writeHead: (s: number) => (status = s), end: (b: string) => (body = b) } as never;
    const req = { method: 'GET', url: `${path}?${qs}`, headers: { authorization: 'key', accept: 'application/vnd.netbackup+json;version=14.0' }, body: Buffer.alloc(0), text: '' } as RecordedRequest;
    sim.handle(req, res);
    if (status !== 200) throw new Error(`status ${status}: ${body}`);
    return JSON.parse(body) as unknown;
  };
}

describe('vocabulary', () => {
  it.each(Object.entries(SCHEDULE_TYPES))('maps %s to %s', (rest, nbwss) => {
    expect(scheduleType(rest, quiet())).toBe(nbwss);
  });

  it('passes an unknown value through unchanged and reports it once', () => {
    const seen: string[] = [];
    const u = new UnknownValues((field, value) => seen.push(`${field}=${value}`));
    expect(scheduleType('SYNTHETIC_FULL', u)).toBe('SYNTHETIC_FULL');
    expect(scheduleType('SYNTHETIC_FULL', u)).toBe('SYNTHETIC_FULL');
    expect(seen).toEqual(['scheduleType=SYNTHETIC_FULL']);
  });

  it('turns ISO times into epoch seconds', () => {
    expect(epochSeconds('2015-10-14T20:56:40Z')).toBe(1444856200);
    expect(epochSeconds('2015-10-14T20:56:40.999Z')).toBe(1444856200);
    expect(epochSeconds(1444856200.5)).toBe(1444856200);
    expect(epochSeconds('not a time')).toBeUndefined();
    expect(epochSeconds(null)).toBeUndefined();
  });

  it('builds JOB records in NBWSS vocabulary, with the status only when DONE', () => {
    const a = { jobId: 4711, parentJobId: 4711, jobType: 'BACKUP', policyType: 'VMWARE', policyName: 'vm-daily', scheduleType: 'FULL_BACKUP', clientName: 'vm01.domain.com', state: 'DONE', status: 0, startTime: '2015-10-14T21:10:00Z', endTime: '2015-10-14T21:20:00Z', kilobytesTransferred: 5 };
    expect(jobRecord(a, quiet())).toEqual({ jobId: 4711, parentJobId: 4711, jobType: 'BACKUP', policyType: 'VMWARE', policyName: 'vm-daily', scheduleType: 'ST_FULL', clientName: 'vm01.domain.com', state: 'DONE', status: 0, startTime: 1444857000, endTime: 1444857600 });
    expect(jobRecord({ ...a, state: 'ACTIVE', status: null }, quiet())).not.toHaveProperty('status');
  });

  it('builds IMAGE records', () => {
    const r = imageRecord({ backupId: 'client01_1458601200', clientName: 'client01', policyType: 'VMWARE', scheduleType: 'CUMULATIVE_INCREMENTAL_BACKUP', backupTime: '2016-03-21T23:00:00Z', expiration: '2016-04-04T23:00:00Z', copyCount: 2 }, 'CREATE', quiet());
    expect(r).toEqual({ backupId: 'client01_1458601200', clientName: 'client01', clientType: 'VMWARE', scheduleType: 'ST_CINC', backupTime: 1458601200, expiration: 1459810800, copyCount: 2, operationId: 'CREATE' });
  });
});

describe('pollJobs', () => {
  it('reports a job when first seen and on each state change, not on progress, following the cursor pages', async () => {
    let now = Date.parse('2026-11-20T10:00:00Z');
    const sim = new NbSim({ now: () => now });
    const get = simGet(sim);
    let state = { cursor: null as string | null, known: {} };
    const poll = async () => {
      const r = await pollJobs(get, state, now, quiet());
      state = r.state;
      return r.records.map((x) => `${x.jobId}:${x.state}`);
    };
    expect(await poll()).toEqual([]);
    now += 1000;
    const jobs = Array.from({ length: 150 }, () => sim.addJob());
    now += 1000;
    expect(await poll()).toHaveLength(150);
    now += 1000;
    sim.setJobState(jobs[0]!.jobId, 'ACTIVE');
    sim.progress(jobs[1]!.jobId, 100);
    now += 1000;
    expect(await poll()).toEqual([`${jobs[0]!.jobId}:ACTIVE`]);
    now += 1000;
    sim.setJobState(jobs[0]!.jobId, 'DONE', 0);
    now += 20_000;
    expect(await poll()).toEqual([`${jobs[0]!.jobId}:DONE`]);
    expect(await poll()).toEqual([]);
    expect(sim.queries.some((q) => q.includes('page%5Bafter%5D=100'))).toBe(true);
    expect(sim.queries.at(-1)).toMatch(/filter=lastUpdateTime%20gt%20\d{4}-/);
    expect(sim.queries.at(-1)).toContain('sort=lastUpdateTime');
    expect(sim.queries.at(-1)).toContain('page%5Blimit%5D=100');
  });

  it('reports a job that changed several times between polls once, in its current state', async () => {
    let now = Date.parse('2026-11-20T10:00:00Z');
    const sim = new NbSim({ now: () => now });
    const get = simGet(sim);
    let state = (await pollJobs(get, { cursor: null, known: {} }, now, quiet())).state;
    now += 1000;
    const job = sim.addJob();
    state = (await pollJobs(get, state, now, quiet())).state;
    sim.setJobState(job.jobId, 'ACTIVE');
    sim.setJobState(job.jobId, 'DONE', 150);
    now += 1000;
    const r = await pollJobs(get, state, now, quiet());
    expect(r.records).toEqual([expect.objectContaining({ jobId: job.jobId, state: 'DONE', status: 150 })]);
  });
});

describe('pollImages', () => {
  it('takes the first poll as the baseline, then reports CREATE and UPDATE (expiration, copies), offset-paged', async () => {
    let now = Date.parse('2026-11-20T10:00:00Z');
    const sim = new NbSim({ now: () => now });
    const get = simGet(sim);
    for (let i = 0; i < 120; i++) sim.addImage({ backupId: `old_${i}` });
    let r = await pollImages(get, { primed: false, known: {} }, now, 86_400_000, quiet());
    expect(r.records).toEqual([]);
    expect(sim.queries.some((q) => q.includes('page%5Boffset%5D=100'))).toBe(true);
    now += 60_000;
    sim.addImage({ backupId: 'new_1' });
    sim.images.get('old_3')!.expiration = new Date(now + 1e9).toISOString();
    sim.images.get('old_4')!.copyCount = 2;
    r = await pollImages(get, r.state, now, 86_400_000, quiet());
    expect(r.records.map((x) => `${x.backupId}:${x.operationId}`).sort()).toEqual(['new_1:CREATE', 'old_3:UPDATE', 'old_4:UPDATE']);
    expect(sim.queries.at(-1)).toMatch(/filter=backupTime%20ge%20/);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
  });
});

describe('the notification state file', () => {
  it('is written atomically and read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const file = new StateFile(dir);
    const state = freshState();
    state.pending.push({ id: 'N-1', object: 'JOB', records: [{ jobId: 1 }], groups: ['default'] });
    await Promise.all([file.save(() => state), file.save(() => state), file.save(() => state)]);
    expect(await loadNotifyState(dir, silentLogger())).toEqual(state);
    expect(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')).pending[0].id).toBe('N-1');
  });

  it('sets an unreadable file aside and starts fresh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    writeFileSync(join(dir, STATE_FILE), '{ "version": 1, "pend');
    expect(await loadNotifyState(dir, silentLogger())).toEqual(freshState());
  });
});

describe('Notifier across a restart', () => {
  it('keeps acknowledgements per group: a group that acknowledged before the restart is not sent it again', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const state = freshState();
    state.pending.push({ id: 'N-1', object: 'JOB', records: [{ jobId: 1 }], groups: ['b'] });
    state.pending.push({ id: 'N-2', object: 'JOB', records: [{ jobId: 2 }], groups: ['gone'] });
    await new StateFile(dir).save(() => state);
    const sent: string[] = [];
    const outlet = (name: string) => ({ ready: true, send: (text: string) => (sent.push(`${name}:${JSON.parse(text).id}`), 1) });
    const n = await Notifier.open({
      config: { jobs: false, images: false, pollMs: 1000, apiKeyFile: null, apiKey: null, batchMax: 100, ackTimeoutMs: 60_000, maxPending: 100, imagesWindowMs: 86_400_000 },
      api: { get: async () => ({}), close: async () => {} },
      stateDir: dir,
      groups: new Map([['a', outlet('a')], ['b', outlet('b')]]),
      log: silentLogger(),
    });
    n.connected('a');
    n.connected('b');
    expect(sent).toEqual(['b:N-1']);
    n.ack('b', 'N-1');
    expect(n.pending).toEqual([]);
    await n.stop();
  });
});

describe('Notifier: what is on disk, and in which order', () => {
  const config = (over: Record<string, unknown> = {}) => ({
    jobs: true, images: false, pollMs: 20, apiKeyFile: null, apiKey: 'k', batchMax: 1, ackTimeoutMs: 60_000, maxPending: 100, imagesWindowMs: 86_400_000, ...over,
  });
  const onDisk = (dir: string): string[] => {
    try {
      return (JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { pending: { id: string }[] }).pending.map((p) => p.id);
    } catch {
      return [];
    }
  };
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  };

  async function notifier(over: Record<string, unknown>, onSend: (id: string, dir: string) => void = () => {}) {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const sim = new NbSim();
    const sent: string[] = [];
    const outlet = { ready: true, send: (text: string) => { const id = JSON.parse(text).id as string; onSend(id, dir); sent.push(id); return 1; } };
    const n = await Notifier.open({ config: config(over), api: { get: simGet(sim), close: async () => {} }, stateDir: dir, groups: new Map([['default', outlet]]), log: silentLogger() });
    return { n, sim, sent, dir };
  }

  it('saves a notification before it is sent, so a crash right after the send cannot lose or renumber it', async () => {
    const unsaved: string[] = [];
    const { n, sim, sent } = await notifier({}, (id, dir) => {
      if (!onDisk(dir).includes(id)) unsaved.push(id);
    });
    n.start();
    n.connected('default');
    await new Promise((r) => setTimeout(r, 60));
    sim.addJob();
    sim.addJob();
    await until(() => sent.length >= 2);
    await n.stop();
    expect(unsaved).toEqual([]);
  });

  it('saves after an acknowledgement, so an acknowledged notification is not sent again after a restart', async () => {
    // Polls a minute apart: only the acknowledgement itself can write the file in between.
    const { n, sim, sent, dir } = await notifier({ pollMs: 60_000 });
    sim.addJob();
    n.start();
    n.connected('default');
    await until(() => sent.length === 1 && onDisk(dir).includes(sent[0] as string));
    n.ack('default', sent[0] as string);
    await until(() => !onDisk(dir).includes(sent[0] as string));
    await n.stop();
  });

  it('past maxPending drops the oldest notifications and keeps the newest', async () => {
    const { n, sim } = await notifier({ maxPending: 2 });
    n.start();
    await new Promise((r) => setTimeout(r, 60));
    const jobs = [sim.addJob(), sim.addJob(), sim.addJob(), sim.addJob()];
    await until(() => n.pending.length === 2 && n.pending.some((p) => p.records[0]?.jobId === jobs[3]?.jobId));
    expect(n.pending.map((p) => p.records[0]?.jobId)).toEqual([jobs[2]?.jobId, jobs[3]?.jobId]);
    await n.stop();
  });
});
