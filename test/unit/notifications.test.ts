import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { captureLog } from '../support/log.js';
import { copiesOf, hasLocalCopy, imageRecord, MAX_KNOWN_IMAGES, pollImages, type ImagesState } from '../../src/notifications/images.js';
import { notificationSwitchOn } from '../../src/config/load.js';
import { NOTIFICATION_SWITCHES } from '../../src/config/schema.js';
import { POLLERS } from '../../src/notifications/registry.js';
import { jobRecord, MAX_KNOWN, pollJobs, type Get, type JobsState } from '../../src/notifications/jobs.js';
import { retryAfterMs } from '../../src/retry.js';
import { freshState, loadNotifyState, StateFile, STATE_FILE } from '../../src/notifications/store.js';
import { CLIENT_TYPES, clientType, epochSeconds, JOB_STATE_RANK, JOB_STATES, SCHEDULE_TYPES, scheduleType, text, UnknownValues, whole } from '../../src/notifications/vocabulary.js';
import { NbSim } from '../../src/demo/nb-sim.js';
import { simGet } from '../support/nb-sim.js';

const quiet = () => new UnknownValues(() => {});


/** The exact keys of NetBackup's records, in its order. */
const JOB_KEYS = ['jobId', 'parentJobId', 'jobType', 'policyType', 'policyName', 'scheduleType', 'clientName', 'state', 'status', 'startTime'];
const IMAGE_KEYS = ['backupId', 'clientName', 'clientType', 'backupTime', 'createdTime', 'operationId'];

describe('vocabulary', () => {
  it.each(Object.entries(SCHEDULE_TYPES))('maps the schedule type %s to %s', (rest, nbwss) => {
    expect(scheduleType(rest, quiet())).toBe(nbwss);
  });

  it('maps the schedule types of both APIs: the jobs API (FULL_BACKUP, …) and the catalog (FULL, …)', () => {
    expect(['FULL_BACKUP', 'FULL', 'DIFFERENTIAL_INCREMENTAL_BACKUP', 'DIFFERENTIAL_INCREMENTAL', 'CUMULATIVE_INCREMENTAL_BACKUP', 'CUMULATIVE_INCREMENTAL', 'USER_BACKUP', 'USER_ARCHIVE'].map((v) => scheduleType(v, quiet())))
      .toEqual(['ST_FULL', 'ST_FULL', 'ST_DINC', 'ST_DINC', 'ST_CINC', 'ST_CINC', 'ST_UBACKUP', 'ST_UARCHIVE']);
  });

  it('passes an unknown value through unchanged and reports it once; an ST_ name is taken as it is', () => {
    const seen: string[] = [];
    const u = new UnknownValues((field, value) => seen.push(`${field}=${value}`));
    expect(scheduleType('SYNTHETIC_FULL', u)).toBe('SYNTHETIC_FULL');
    expect(scheduleType('SYNTHETIC_FULL', u)).toBe('SYNTHETIC_FULL');
    expect(scheduleType('ST_FULL', u)).toBe('ST_FULL');
    expect(scheduleType(7, u)).toBe('');
    expect(seen).toEqual(['scheduleType=SYNTHETIC_FULL']);
  });

  it.each(Object.entries(JOB_STATES))('folds the job state %s into %s', (rest, nbwss) => {
    expect(JOB_STATES[rest]).toBe(nbwss);
  });

  it('ranks job states QUEUED < ACTIVE < DONE', () => {
    expect(JOB_STATE_RANK.QUEUED).toBeLessThan(JOB_STATE_RANK.ACTIVE);
    expect(JOB_STATE_RANK.ACTIVE).toBeLessThan(JOB_STATE_RANK.DONE);
  });

  it.each(Object.entries(CLIENT_TYPES))('maps the catalog policy type %s to the client type %s', (display, upper) => {
    expect(clientType(display, quiet())).toBe(upper);
  });

  it('maps catalog policy types whatever their case, keeps upper-case names, and upper-cases unknown ones (reported once)', () => {
    const seen: string[] = [];
    const u = new UnknownValues((field, value) => seen.push(`${field}=${value}`));
    expect(clientType('VMware', u)).toBe('VMWARE');
    expect(clientType('Hyper-V', u)).toBe('HYPERV');
    expect(clientType('MS-Windows', u)).toBe('WINDOWS_NT');
    expect(clientType('STANDARD', u)).toBe('STANDARD');
    expect(clientType('Open Stack-2', u)).toBe('OPEN_STACK_2');
    expect(clientType('Open Stack-2', u)).toBe('OPEN_STACK_2');
    expect(clientType(undefined, u)).toBe('');
    expect(seen).toEqual(['policyType=Open Stack-2']);
  });

  it('turns ISO times into epoch seconds', () => {
    expect(epochSeconds('2015-10-14T20:56:40Z')).toBe(1444856200);
    expect(epochSeconds('2015-10-14T20:56:40.999Z')).toBe(1444856200);
    expect(epochSeconds(1444856200.5)).toBe(1444856200);
    expect(epochSeconds('not a time')).toBeUndefined();
    expect(epochSeconds(null)).toBeUndefined();
    expect(epochSeconds(Number.NaN)).toBeUndefined();
  });

  it('always gives a string field a string and a whole-number field a number', () => {
    expect([text('a'), text(undefined), text(null), text(12), text(true), text(false), text({}), text([1])]).toEqual(['a', '', '', '12', 'true', 'false', '', '']);
    expect([whole(7), whole(7.9), whole('42'), whole(' -3 '), whole('x'), whole(null), whole(undefined), whole(Number.POSITIVE_INFINITY)]).toEqual([7, 7, 42, -3, 0, 0, 0, 0]);
    expect([whole(true), whole([5]), whole('0x10'), whole('1e3'), whole('5x'), whole('x5'), whole(''), whole('99999999999999999999')]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('JOB records', () => {
  const a = { jobId: 4711, parentJobId: 4711, jobType: 'BACKUP', policyType: 'VMWARE', policyName: 'vm-daily', scheduleType: 'FULL_BACKUP', scheduleName: 'daily', clientName: 'vm01.domain.com', state: 'DONE', status: 0, startTime: '2015-10-14T21:10:00Z', endTime: '2015-10-14T21:20:00Z', lastUpdateTime: '2015-10-14T21:20:00Z', kilobytesTransferred: 5, percentComplete: 100 };

  it('carry exactly the fields of NetBackup, in its vocabulary, like the protocol example', () => {
    const r = jobRecord(a, 'DONE', quiet());
    expect(r).toEqual({ jobId: 4711, parentJobId: 4711, jobType: 'BACKUP', policyType: 'VMWARE', policyName: 'vm-daily', scheduleType: 'ST_FULL', clientName: 'vm01.domain.com', state: 'DONE', status: 0, startTime: 1444857000 });
    expect(Object.keys(r)).toEqual(JOB_KEYS);
  });

  it('have status 0 while the job runs, its exit status once DONE', () => {
    expect(jobRecord({ ...a, status: 150 }, 'ACTIVE', quiet()).status).toBe(0);
    expect(jobRecord({ ...a, status: 150 }, 'QUEUED', quiet()).status).toBe(0);
    expect(jobRecord({ ...a, status: 150 }, 'DONE', quiet()).status).toBe(150);
  });

  it('keep every field when the REST API leaves some out', () => {
    const r = jobRecord({ jobId: 5 }, 'QUEUED', quiet());
    expect(r).toEqual({ jobId: 5, parentJobId: 0, jobType: '', policyType: '', policyName: '', scheduleType: '', clientName: '', state: 'QUEUED', status: 0, startTime: 0 });
    expect(Object.keys(r)).toEqual(JOB_KEYS);
  });
});

describe('IMAGE records', () => {
  it('carry exactly the fields of NetBackup, like the protocol example', () => {
    const r = imageRecord({ client: 'client01', type: 'VMWARE', time: 1458601200 }, 'client01_1458601200', 'DELETE', 1459832492);
    expect(r).toEqual({ backupId: 'client01_1458601200', clientName: 'client01', clientType: 'VMWARE', backupTime: 1458601200, createdTime: 1459832492, operationId: 'DELETE' });
    expect(Object.keys(r)).toEqual(IMAGE_KEYS);
  });

  it('count copies from numCopies, else from the fragments\' copy numbers', () => {
    expect(copiesOf({ numCopies: 3 })).toBe(3);
    expect(copiesOf({ fragments: [{ copyNumber: 1 }, { copyNumber: 1 }, { copyNumber: 2 }] })).toBe(2);
    expect(copiesOf({ fragments: [] })).toBeNull();
    expect(copiesOf({ copyCount: 4, copies: [1, 2] })).toBeNull();
    expect(copiesOf({ numCopies: '3', fragments: [null, { copyNumber: 1 }] })).toBe(2);
  });

  it('decide "no local copy" only when every copy is a cloud snapshot or a replica', () => {
    expect(hasLocalCopy({})).toBe(true);
    expect(hasLocalCopy({ fragments: [] })).toBe(true);
    expect(hasLocalCopy({ fragments: [{ copyNumber: 1 }] })).toBe(true);
    expect(hasLocalCopy({ fragments: [{ copyNumber: 1 }, { copyNumber: 2, copyType: 'CLOUD_SNAPSHOT_REPLICA' }] })).toBe(true);
    expect(hasLocalCopy({ fragments: [{ copyNumber: 1, copyType: 'CLOUD_SNAPSHOT' }, { copyNumber: 2, copyType: 'CLOUD_SNAPSHOT_REPLICA' }] })).toBe(false);
    expect(hasLocalCopy({ fragments: [{ copyNumber: 2, copyType: 'CLOUD_SNAPSHOT_REPLICA' }, { copyNumber: 2, copyType: 'CLOUD_SNAPSHOT_REPLICA' }] })).toBe(false);
    // One fragment of a copy without a copy type makes the copy local.
    expect(hasLocalCopy({ fragments: [{ copyNumber: 1, copyType: 'CLOUD_SNAPSHOT' }, { copyNumber: 1 }] })).toBe(true);
    expect(hasLocalCopy({ fragments: [null, { copyNumber: 1, copyType: 7 }] })).toBe(true);
  });
});

describe('pollJobs', () => {
  const start = () => {
    const clock = { now: Date.parse('2026-11-20T10:00:00Z') };
    const sim = new NbSim({ now: () => clock.now });
    const get = simGet(sim);
    let state: JobsState = { cursor: null, known: {} };
    const poll = async (unknown = quiet()) => {
      clock.now += 1000;
      const r = await pollJobs(get, state, clock.now, unknown);
      state = r.state;
      return r.records;
    };
    const states = async () => (await poll()).map((x) => `${x.jobId}:${x.state}`);
    return { clock, sim, poll, states, get state() { return state; } };
  };

  it('reports a job when first seen, when it becomes ACTIVE and when it is DONE, not on progress, following the cursor pages', async () => {
    const { clock, sim, poll, states } = start();
    expect(await states()).toEqual([]);
    const jobs = Array.from({ length: 150 }, () => sim.addJob());
    const first = await poll();
    expect(first).toHaveLength(150);
    for (const r of first) expect(Object.keys(r)).toEqual(JOB_KEYS);
    sim.setJobState(jobs[0]!.jobId, 'ACTIVE');
    sim.progress(jobs[1]!.jobId, 100);
    expect(await states()).toEqual([`${jobs[0]!.jobId}:ACTIVE`]);
    sim.setJobState(jobs[0]!.jobId, 'DONE', 0);
    clock.now += 20_000;
    expect(await states()).toEqual([`${jobs[0]!.jobId}:DONE`]);
    expect(await states()).toEqual([]);
    expect(sim.queries.some((q) => q.includes('page%5Bafter%5D=100'))).toBe(true);
    expect(sim.queries.at(-1)).toMatch(/filter=lastUpdateTime%20gt%20\d{4}-/);
    expect(sim.queries.at(-1)).toContain('sort=lastUpdateTime');
    expect(sim.queries.at(-1)).toContain('page%5Blimit%5D=100');
  });

  it('reports only QUEUED, ACTIVE and DONE: a retry, a suspension or an incomplete run sends nothing more', async () => {
    const { sim, poll, states } = start();
    await poll();
    const job = sim.addJob();
    expect(await states()).toEqual([`${job.jobId}:QUEUED`]);
    sim.setJobState(job.jobId, 'REQUEUED');
    expect(await states()).toEqual([]);
    sim.setJobState(job.jobId, 'ACTIVE');
    expect(await states()).toEqual([`${job.jobId}:ACTIVE`]);
    for (const s of ['SUSPENDED', 'ACTIVE', 'INCOMPLETE', 'REQUEUED', 'ACTIVE']) {
      sim.setJobState(job.jobId, s);
      expect(await states(), s).toEqual([]);
    }
    sim.setJobState(job.jobId, 'DONE', 13);
    const done = await poll();
    expect(done).toEqual([expect.objectContaining({ jobId: job.jobId, state: 'DONE', status: 13 })]);
  });

  it('reports a job first seen REQUEUED as QUEUED, and one first seen SUSPENDED or INCOMPLETE as ACTIVE', async () => {
    const { sim, poll, states } = start();
    await poll();
    const r = sim.addJob({ state: 'REQUEUED' });
    const s = sim.addJob({ state: 'SUSPENDED' });
    const i = sim.addJob({ state: 'INCOMPLETE' });
    expect(await states()).toEqual([`${r.jobId}:QUEUED`, `${s.jobId}:ACTIVE`, `${i.jobId}:ACTIVE`]);
    expect((await poll())).toEqual([]);
  });

  it('reports a job that changed several times between polls once, in its current state', async () => {
    const { sim, poll } = start();
    await poll();
    const job = sim.addJob();
    await poll();
    sim.setJobState(job.jobId, 'ACTIVE');
    sim.setJobState(job.jobId, 'DONE', 150);
    expect(await poll()).toEqual([expect.objectContaining({ jobId: job.jobId, state: 'DONE', status: 150 })]);
  });

  it('does not report a state it does not know, names it once, and reports the job when it reaches one it knows', async () => {
    const { sim, poll } = start();
    await poll();
    const notes: string[] = [];
    const u = new UnknownValues((f, v) => notes.push(`${f}=${v}`));
    const job = sim.addJob({ state: 'WAITING_FOR_TAPE' });
    expect(await poll(u)).toEqual([]);
    sim.progress(job.jobId, 5);
    expect(await poll(u)).toEqual([]);
    expect(notes).toEqual(['state=WAITING_FOR_TAPE']);
    sim.setJobState(job.jobId, 'ACTIVE');
    expect((await poll(u)).map((x) => x.state)).toEqual(['ACTIVE']);
  });

  it('reads the job states an older release remembered (REST states) without reporting them again', async () => {
    const clock = Date.parse('2026-11-20T10:00:00Z');
    const sim = new NbSim({ now: () => clock });
    const job = sim.addJob({ state: 'SUSPENDED' });
    const prev: JobsState = { cursor: new Date(clock - 60_000).toISOString(), known: { [String(job.jobId)]: ['SUSPENDED', clock - 60_000] } };
    const r = await pollJobs(simGet(sim), prev, clock + 1000, quiet());
    expect(r.records).toEqual([]);
    expect(r.state.known[String(job.jobId)]?.[0]).toBe('ACTIVE');
  });

  it('does not change the state it was given', async () => {
    const { sim, poll } = start();
    await poll();
    const job = sim.addJob();
    const prev: JobsState = { cursor: null, known: { [String(job.jobId)]: ['QUEUED', 1] } };
    const copy = structuredClone(prev);
    sim.setJobState(job.jobId, 'ACTIVE');
    await pollJobs(simGet(sim), prev, Date.parse('2026-11-20T10:00:30Z'), quiet());
    expect(prev).toEqual(copy);
  });
});

describe('pollImages', () => {
  const DAY = 86_400_000;
  const start = async (before: (sim: NbSim) => void = () => {}) => {
    const clock = { now: Date.parse('2026-11-20T10:00:00Z') };
    const sim = new NbSim({ now: () => clock.now });
    before(sim);
    let state: ImagesState = { primed: false, known: {} };
    const poll = async (windowMs = DAY) => {
      clock.now += 60_000;
      const r = await pollImages(simGet(sim), state, clock.now, windowMs, quiet());
      state = r.state;
      return r.records;
    };
    const ops = async (windowMs = DAY) => (await poll(windowMs)).map((x) => `${x.backupId}:${x.operationId}`).sort();
    expect(await poll()).toEqual([]);
    return { clock, sim, poll, ops };
  };

  it('takes the first poll as the baseline, then reports CREATE and UPDATE (expiration, numCopies), offset-paged', async () => {
    const { clock, sim, poll, ops } = await start((s) => {
      for (let i = 0; i < 120; i++) s.addImage({ backupId: `old_${i}` });
    });
    expect(sim.queries.some((q) => q.includes('page%5Boffset%5D=100'))).toBe(true);
    sim.addImage({ backupId: 'new_1' });
    sim.images.get('old_3')!.expiration = new Date(clock.now + 1e9).toISOString();
    sim.addCopy('old_4');
    expect(await ops()).toEqual(['new_1:CREATE', 'old_3:UPDATE', 'old_4:UPDATE']);
    expect(sim.queries.at(-1)).toMatch(/filter=backupTime%20ge%20/);
    expect(await poll()).toEqual([]);
  });

  it('sends records with exactly NetBackup\'s fields: the backup id from the resource id, clientType upper case, createdTime when the change was seen', async () => {
    const { clock, sim, poll } = await start();
    sim.addImage({ backupId: 'client01_1458601200', clientName: 'client01', policyType: 'MS-Windows', backupTime: '2026-11-20T09:00:00Z' });
    const [r] = await poll();
    expect(r).toEqual({ backupId: 'client01_1458601200', clientName: 'client01', clientType: 'WINDOWS_NT', backupTime: Date.parse('2026-11-20T09:00:00Z') / 1000, createdTime: Math.floor(clock.now / 1000), operationId: 'CREATE' });
    expect(Object.keys(r!)).toEqual(IMAGE_KEYS);
  });

  it('reports DELETE when an image inside the window is missing from two polls in a row, and only once', async () => {
    const { sim, poll, ops } = await start((s) => {
      s.addImage({ backupId: 'a', policyType: 'Standard', clientName: 'c1' });
      s.addImage({ backupId: 'b' });
    });
    sim.images.delete('a');
    expect(await ops()).toEqual([]);
    const del = await poll();
    expect(del).toEqual([expect.objectContaining({ backupId: 'a', operationId: 'DELETE', clientName: 'c1', clientType: 'STANDARD' })]);
    expect(await ops()).toEqual([]);
  });

  it('does not report DELETE for an image missing once (a page shifting under the poll)', async () => {
    const { sim, ops } = await start((s) => {
      s.addImage({ backupId: 'a' });
      s.addImage({ backupId: 'b' });
    });
    const a = sim.images.get('a')!;
    sim.images.delete('a');
    expect(await ops()).toEqual([]);
    sim.images.set('a', a);
    expect(await ops()).toEqual([]);
    sim.images.delete('a');
    expect(await ops()).toEqual([]);
    expect(await ops()).toEqual(['a:DELETE']);
  });

  it('forgets an image that leaves the window by age without reporting it', async () => {
    const { clock, sim, ops, poll } = await start((s) => s.addImage({ backupId: 'aging' }));
    clock.now += 2 * 3_600_000;
    expect(await ops(3_600_000)).toEqual([]);
    expect(await ops(3_600_000)).toEqual([]);
    expect(await poll(3_600_000)).toEqual([]);
    // Back inside a wider window, it is new to the poller again.
    expect(sim.images.has('aging')).toBe(true);
    expect(await ops(DAY)).toEqual(['aging:CREATE']);
  });

  it('reports NO_LOCAL_COPY_AVAILABLE once when the last local copy goes and only cloud snapshot copies remain', async () => {
    const { sim, ops } = await start((s) => s.addImage({ backupId: 'snap' }));
    sim.addCopy('snap', 'CLOUD_SNAPSHOT_REPLICA');
    expect(await ops()).toEqual(['snap:UPDATE']);
    sim.expireCopy('snap', 1);
    expect(await ops()).toEqual(['snap:NO_LOCAL_COPY_AVAILABLE', 'snap:UPDATE']);
    expect(await ops()).toEqual([]);
  });

  it('reports a new image that has no local copy as CREATE, then NO_LOCAL_COPY_AVAILABLE', async () => {
    const { sim, poll } = await start();
    sim.addImage({ backupId: 'remote', numCopies: 1, fragments: [{ copyNumber: 1, fragmentNumber: 1, copyType: 'CLOUD_SNAPSHOT', expiration: '2026-12-01T00:00:00Z' }] });
    expect((await poll()).map((r) => r.operationId)).toEqual(['CREATE', 'NO_LOCAL_COPY_AVAILABLE']);
  });

  it('reads the image state an older release wrote, without reporting what it knew', async () => {
    const now = Date.parse('2026-11-20T10:00:00Z');
    const sim = new NbSim({ now: () => now });
    const img = sim.addImage({ backupId: 'legacy' });
    const t = Date.parse(img.backupTime) / 1000;
    const prev: ImagesState = { primed: true, known: { legacy: [Date.parse(img.expiration!) / 1000, 1, t] } };
    const r = await pollImages(simGet(sim), prev, now + 1000, DAY, quiet());
    expect(r.records).toEqual([]);
    expect(r.state.known.legacy).toMatchObject({ copies: 1, client: 'client01', type: 'VMWARE', local: true, misses: 0 });
    expect(prev.known.legacy).toEqual([Date.parse(img.expiration!) / 1000, 1, t]);
  });

  it('takes an image that never expires (expiration null) and ignores entries without an id or seen twice', async () => {
    const now = Date.parse('2026-11-20T10:00:00Z');
    const pages = [{ data: [{ id: 'x', attributes: { expiration: null, backupTime: '2026-11-20T09:00:00Z' } }, { attributes: {} }, { id: 'x', attributes: {} }] }];
    const get: Get = async () => pages.shift() ?? { data: [] };
    const r = await pollImages(get, { primed: true, known: {} }, now, DAY, quiet());
    expect(r.records.map((x) => x.backupId)).toEqual(['x']);
    expect(r.state.known.x).toMatchObject({ exp: null });
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(' 12 ')).toBe(12_000);
    expect(retryAfterMs(['3', '9'])).toBe(3000);
    for (const odd of ['abc12', '12abc', '1.5', '']) expect(retryAfterMs(odd), odd).toBeNull();
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

  it('starts fresh without a file: nothing pending, each type from its initial state (nothing known, the images not yet primed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    expect(await loadNotifyState(dir, silentLogger())).toEqual({ version: 1, pending: [] });
    expect(POLLERS.map((p) => [p.kind, p.object, p.initial()])).toEqual([
      ['jobs', 'JOB', { cursor: null, known: {} }],
      ['images', 'IMAGE', { primed: false, known: {} }],
    ]);
  });

  it('sets aside a file of another layout (another version, or no pending list)', async () => {
    for (const doc of [{ version: 2, pending: [] }, { version: 1, pending: {} }, { version: 1 }]) {
      const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
      writeFileSync(join(dir, STATE_FILE), JSON.stringify(doc));
      const logs = captureLog();
      expect(await loadNotifyState(dir, logs.log)).toEqual(freshState());
      expect(readdirSync(dir).some((f) => f.startsWith(`${STATE_FILE}.unreadable-`))).toBe(true);
    }
  });

  it('fails to load when the file cannot be read for another reason than being missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    mkdirSync(join(dir, STATE_FILE));
    await expect(loadNotifyState(dir, silentLogger())).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('leaves no file open behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const file = new StateFile(dir);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 10; i++) await file.save(freshState);
    // Other handles of the process may close meanwhile; a leak would add one per compaction.
    expect(fds()).toBeLessThanOrEqual(before);
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
      config: { jobs: false, images: false, pollMs: 1000, apiKeyFile: null, apiKey: null, batchMax: 100, ackTimeoutMs: 60_000, maxPending: 100, imagesWindowMs: 86_400_000, maxBackoffMs: 300_000 },
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
    jobs: true, images: false, pollMs: 20, apiKeyFile: null, apiKey: 'k', batchMax: 1, ackTimeoutMs: 60_000, maxPending: 100, imagesWindowMs: 86_400_000, maxBackoffMs: 300_000, ...over,
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

  it('resends overdue notifications a batch per check, oldest first, and none while the group has much queued toward it', async () => {
    const { Notifier, RESEND_BATCH, RESEND_BUFFER_LIMIT } = await import('../../src/notifications/notifier.js');
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const sim = new NbSim();
    let clock = Date.now();
    const batches: number[] = [];
    let inBatch = false;
    const outlet = {
      ready: true,
      bufferedAmount: 2 * RESEND_BUFFER_LIMIT,
      send: () => {
        if (!inBatch) {
          batches.push(0);
          inBatch = true;
          setImmediate(() => (inBatch = false));
        }
        batches[batches.length - 1]! += 1;
        return 1;
      },
    };
    const n = await Notifier.open({ config: config({ pollMs: 60_000, ackTimeoutMs: 100 }), api: { get: simGet(sim), close: async () => {} }, stateDir: dir, groups: new Map([['default', outlet]]), log: silentLogger(), now: () => clock });
    for (let i = 0; i < 100; i++) sim.addJob();
    n.start();
    n.connected('default');
    await until(() => batches.length === 1 && batches[0] === 100);
    clock += 100;
    await new Promise((r) => setTimeout(r, 200));
    expect(batches).toEqual([100]);
    // Just under the limit queued toward the group (and exactly at it) does not hold resends back; exactly ackTimeoutMs late is due.
    outlet.bufferedAmount = RESEND_BUFFER_LIMIT;
    await until(() => batches.reduce((x, y) => x + y, 0) === 200);
    expect(batches.slice(1)).toEqual([RESEND_BATCH, RESEND_BATCH, RESEND_BATCH, 100 - 3 * RESEND_BATCH]);
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

describe('Notifier: groups, acknowledgements and stopping', () => {
  const config = (over: Record<string, unknown> = {}) => ({
    jobs: true, images: false, pollMs: 20, apiKeyFile: null, apiKey: 'k', batchMax: 100, ackTimeoutMs: 60_000, maxPending: 1000, imagesWindowMs: 86_400_000, maxBackoffMs: 300_000, ...over,
  });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  };
  const outlet = () => {
    const o = { ready: true, refuse: false, sent: [] as { id: string; object: string; n: number; type: string }[], send(text: string) {
      if (o.refuse) return 0;
      const m = JSON.parse(text) as { id: string; payload: { object: string; notificationType: string; data: unknown[] }[] };
      o.sent.push({ id: m.id, object: m.payload[0]!.object, n: m.payload[0]!.data.length, type: m.payload[0]!.notificationType });
      return 1;
    } };
    return o;
  };
  async function open(over: Record<string, unknown>, groups: Record<string, ReturnType<typeof outlet>>, sim = new NbSim()) {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const logs = captureLog('debug');
    const n = await Notifier.open({ config: config(over), api: { get: simGet(sim), close: async () => {} }, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map(Object.entries(groups)), log: logs.log });
    return { n, sim, logs };
  }

  it('polls a registered type of its own: its records go out under its object, its state is kept under its kind', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const { poller } = await import('../../src/notifications/poller.js');
    const polls: { seen: number }[] = [];
    const alerts = poller<{ seen: number }>({
      kind: 'alerts',
      object: 'ALERT',
      initial: () => ({ seen: 0 }),
      poll: async (get, prev) => {
        polls.push(prev);
        const items = (await get('/alerts', {})) as unknown[];
        return { records: items.slice(prev.seen).map((a) => ({ alert: a })), state: { seen: items.length } };
      },
    });
    const feed: unknown[] = ['disk full'];
    const o = outlet();
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const n = await Notifier.open({ config: config({ jobs: false }), pollers: [alerts], api: { get: async () => feed, close: async () => {} }, stateDir: dir, groups: new Map([['a', o]]), log: silentLogger() });
    n.start();
    n.connected('a');
    await until(() => o.sent.length === 1);
    feed.push('tape jammed');
    await until(() => o.sent.length === 2);
    await n.stop();
    expect(o.sent.map((x) => [x.object, x.n])).toEqual([['ALERT', 1], ['ALERT', 1]]);
    expect(polls[0]).toEqual({ seen: 0 });
    expect(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'))).toMatchObject({ version: 1, alerts: { seen: 2 } });
  });

  it('keeps a notification until every group acknowledged it, and ignores acknowledgements for nothing pending', async () => {
    const a = outlet();
    const b = outlet();
    const { n, sim } = await open({}, { a, b });
    sim.addJob();
    n.start();
    await until(() => a.sent.length === 1 && b.sent.length === 1);
    const id = a.sent[0]!.id;
    expect(id).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(a.sent[0]).toMatchObject({ object: 'JOB', type: 'INFO' });
    // Later polls that find nothing new send nothing again before the acknowledgement is due.
    await new Promise((r) => setTimeout(r, 100));
    expect([a.sent.length, b.sent.length]).toEqual([1, 1]);
    // A second notification goes out at once too, and acknowledging one leaves the other pending.
    sim.addJob();
    await until(() => a.sent.length === 2 && b.sent.length === 2);
    const second = a.sent[1]!.id;
    n.ack('a', second);
    n.ack('b', second);
    expect(n.pending.map((p) => p.id)).toEqual([id]);
    n.ack('a', 'NO-SUCH-ID');
    n.ack('c', id);
    expect(n.pending.map((p) => p.groups)).toEqual([['a', 'b']]);
    n.ack('a', id);
    n.ack('a', id);
    expect(n.pending.map((p) => p.groups)).toEqual([['b']]);
    n.ack('b', id);
    expect(n.pending).toEqual([]);
    // One notification larger than maxPending alone is kept.
    const big = await open({ maxPending: 2, batchMax: 10 }, { a: outlet() });
    for (let i = 0; i < 5; i++) big.sim.addJob();
    big.n.start();
    await until(() => big.n.pendingRecords === 5);
    await big.n.stop();
    expect(n.pendingRecords).toBe(0);
    await n.stop();
  });

  it('sends nothing to a group that is not ready, or whose link takes nothing, and sends it once it connects', async () => {
    const a = outlet();
    a.ready = false;
    const b = outlet();
    b.refuse = true;
    const { n, sim } = await open({}, { a, b });
    sim.addJob();
    n.start();
    await until(() => n.pending.length === 1);
    await new Promise((r) => setTimeout(r, 60));
    expect([a.sent.length, b.sent.length]).toEqual([0, 0]);
    a.ready = true;
    n.connected('a');
    b.refuse = false;
    sim.addJob();
    await until(() => a.sent.length >= 1 && b.sent.map((x) => x.n).reduce((x, y) => x + y, 0) === 2);
    await n.stop();
  });

  it('polls only what is switched on, as its own object type', async () => {
    const a = outlet();
    const sim = new NbSim();
    sim.addImage({ backupId: 'img-before' });
    const { n } = await open({ jobs: false, images: true }, { a }, sim);
    sim.addJob();
    n.start();
    await until(() => sim.queries.length >= 2);
    sim.addImage({ backupId: 'img-new' });
    await until(() => a.sent.length === 1);
    expect(a.sent[0]).toMatchObject({ object: 'IMAGE', n: 1 });
    expect(sim.queries.every((q) => q.startsWith('/netbackup/catalog/images'))).toBe(true);
    await n.stop();
  });

  it('stops polling and resending once stopped', async () => {
    const a = outlet();
    const { n, sim } = await open({ ackTimeoutMs: 100 }, { a });
    n.start();
    await until(() => sim.queries.length >= 1);
    sim.addJob();
    await until(() => a.sent.length >= 1);
    await n.stop();
    const polls = sim.queries.length;
    const sends = a.sent.length;
    await new Promise((r) => setTimeout(r, 300));
    expect([sim.queries.length, a.sent.length]).toEqual([polls, sends]);
  });

  it('backs off on a busy REST API rather than asking again at once', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const { PollError } = await import('../../src/notifications/nbapi.js');
    let polls = 0;
    const get: Get = async () => {
      polls++;
      throw new PollError('/netbackup/admin/jobs: 503', 503);
    };
    const n = await Notifier.open({ config: config({ pollMs: 40 }), api: { get, close: async () => {} }, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map([['a', outlet()]]), log: silentLogger() });
    n.start();
    await new Promise((r) => setTimeout(r, 400));
    await n.stop();
    expect(polls).toBeGreaterThan(1);
    expect(polls).toBeLessThan(6);
  });

  it('waits for a running poll when it stops, so what that poll found is saved', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const sim = new NbSim();
    const get = simGet(sim);
    let slow = false;
    const slowGet: Get = async (path, query) => {
      if (slow) await new Promise((r) => setTimeout(r, 150));
      return get(path, query);
    };
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const n = await Notifier.open({ config: config({ pollMs: 20 }), api: { get: slowGet, close: async () => {} }, stateDir: dir, groups: new Map([['a', outlet()]]), log: silentLogger() });
    n.start();
    await until(() => sim.queries.length >= 1);
    sim.addJob();
    slow = true;
    await new Promise((r) => setTimeout(r, 40));
    await n.stop();
    expect((JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { pending: unknown[] }).pending).toHaveLength(1);
  });

  it('stops for good even when a poll was running when it stopped', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    let polls = 0;
    let release: (err: Error) => void = () => {};
    const get: Get = () => {
      polls++;
      return new Promise((_, reject) => (release = reject));
    };
    const n = await Notifier.open({ config: config({ pollMs: 20 }), api: { get, close: async () => release(new Error('closed')) }, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map([['a', outlet()]]), log: silentLogger() });
    n.start();
    await until(() => polls === 1);
    await n.stop();
    await new Promise((r) => setTimeout(r, 150));
    expect(polls).toBe(1);
  });

  it('waits at least pollMs after a failed poll: a 503 from there up (maxBackoffMs below pollMs changes nothing), anything else exactly pollMs', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const { PollError } = await import('../../src/notifications/nbapi.js');
    const firstWait = async (error: Error, over: Record<string, unknown>) => {
      const logs = captureLog('warn');
      const get: Get = async () => {
        throw error;
      };
      const n = await Notifier.open({ config: config(over), api: { get, close: async () => {} }, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map([['a', outlet()]]), log: logs.log });
      n.start();
      await until(() => logs.lines().some((l) => l.code === 'NBW_ERR_POLL_FAILED'));
      await n.stop();
      return logs.lines().find((l) => l.code === 'NBW_ERR_POLL_FAILED')?.retryInMs as number;
    };
    const busy = await firstWait(new PollError('/netbackup/admin/jobs: 503', 503), { pollMs: 1000 });
    expect(busy).toBeGreaterThanOrEqual(1000);
    expect(busy).toBeLessThanOrEqual(2000);
    const capped = await firstWait(new PollError('/netbackup/admin/jobs: 503', 503), { pollMs: 1000, maxBackoffMs: 500 });
    expect(capped).toBeGreaterThanOrEqual(1000);
    expect(await firstWait(new PollError('/netbackup/admin/jobs: 500', 500), { pollMs: 1000 })).toBe(1000);
    expect(await firstWait(new Error('not JSON'), { pollMs: 1000 })).toBe(1000);
    expect(await firstWait(new PollError('/netbackup/admin/jobs: 429', 429, 0), { pollMs: 1000 })).toBe(100);
  });

  it('polls through a new REST API client after useApi, closing the old one once its poll is done', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const calls: string[] = [];
    let release: () => void = () => {};
    const oldApi = { get: async () => (calls.push('old'), new Promise((r) => (release = () => r({ data: [] })))), close: async () => void calls.push('old closed') };
    const newApi = { get: async () => (calls.push('new'), { data: [] }), close: async () => void calls.push('new closed') };
    const n = await Notifier.open({ config: config({ pollMs: 30 }), api: oldApi, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map([['a', outlet()]]), log: silentLogger() });
    n.start();
    await until(() => calls.includes('old'));
    n.useApi(newApi);
    // The old client's poll is still held, so nothing may close it yet, however long this waits.
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).not.toContain('old closed');
    release();
    await until(() => calls.includes('old closed') && calls.includes('new'));
    await n.stop();
    expect(calls.indexOf('old closed')).toBeLessThan(calls.lastIndexOf('new closed'));
  });

  it('takes a Retry-After further away than a timer can hold as the longest wait it can', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const { PollError } = await import('../../src/notifications/nbapi.js');
    const logs = captureLog('warn');
    const get: Get = async () => {
      throw new PollError('/netbackup/admin/jobs: 429', 429, 1e12);
    };
    const n = await Notifier.open({ config: config({ pollMs: 1000 }), api: { get, close: async () => {} }, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map([['a', outlet()]]), log: logs.log });
    n.start();
    await until(() => logs.lines().some((l) => l.code === 'NBW_ERR_POLL_FAILED'));
    await n.stop();
    expect(logs.lines().find((l) => l.code === 'NBW_ERR_POLL_FAILED')?.retryInMs).toBe(2 ** 31 - 1);
  });

  it('keeps the state of every type in its file, polled or not, for an earlier release reading it', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-notify-'));
    const n = await Notifier.open({ config: config({ jobs: true, images: false, pollMs: 60_000 }), api: { get: simGet(new NbSim()), close: async () => {} }, stateDir: dir, groups: new Map([['a', outlet()]]), log: silentLogger() });
    await n.stop();
    expect(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'))).toMatchObject({ images: { primed: false, known: {} }, jobs: expect.any(Object) });
  });

  it('waits what Retry-After says, and polls again at its own pace after other failures', async () => {
    const { Notifier } = await import('../../src/notifications/notifier.js');
    const { PollError } = await import('../../src/notifications/nbapi.js');
    const run = async (error: () => Error) => {
      let polls = 0;
      const get: Get = async () => {
        polls++;
        throw error();
      };
      const n = await Notifier.open({ config: config({ pollMs: 30 }), api: { get, close: async () => {} }, stateDir: mkdtempSync(join(tmpdir(), 'nbwss-notify-')), groups: new Map([['a', outlet()]]), log: silentLogger() });
      n.start();
      await new Promise((r) => setTimeout(r, 300));
      await n.stop();
      return polls;
    };
    expect(await run(() => new PollError('/netbackup/admin/jobs: 429', 429, 1000))).toBe(1);
    expect(await run(() => new PollError('/netbackup/admin/jobs: 500', 500))).toBeGreaterThanOrEqual(5);
    expect(await run(() => new Error('not JSON'))).toBeGreaterThanOrEqual(5);
  });

  it('names an unknown value the REST API sent once, and drops the oldest past maxPending saying how many', async () => {
    const a = outlet();
    const { n, sim, logs } = await open({ maxPending: 2, batchMax: 1 }, { a });
    n.start();
    await until(() => sim.queries.length >= 1);
    sim.addJob({ scheduleType: 'SYNTHETIC_FULL' });
    for (let i = 0; i < 4; i++) sim.addJob();
    await until(() => logs.lines().some((l) => typeof l.dropped === 'number'));
    const drop = logs.lines().find((l) => typeof l.dropped === 'number')!;
    expect(drop).toMatchObject({ level: 'warn', dropped: 3, notifications: 3, limit: 2 });
    expect(logs.lines().filter((l) => l.field === 'scheduleType' && l.value === 'SYNTHETIC_FULL')).toHaveLength(1);
    await n.stop();
  });
});

describe('pollers fed a hostile or broken REST answer', () => {
  const NOW = Date.parse('2026-11-20T10:00:00Z');
  const pages = (...list: unknown[]): Get => async () => (list.length > 1 ? list.shift() : list[0]);
  const job = (over: Record<string, unknown>) => ({ id: String(over.jobId ?? 1), attributes: { jobId: 1, jobType: 'BACKUP', state: 'ACTIVE', lastUpdateTime: '2026-11-20T09:59:59Z', ...over } });

  it('looks up REST values as own keys only: "constructor", "__proto__" and "toString" are unknown values', async () => {
    const notes: string[] = [];
    const u = new UnknownValues((f, v) => notes.push(`${f}=${v}`));
    const r = await pollJobs(pages({ data: [job({ jobId: 5, state: 'constructor' }), job({ jobId: 6, state: '__proto__' }), job({ jobId: 7, scheduleType: 'toString' })] }), { cursor: null, known: {} }, NOW, u);
    expect(r.records).toEqual([expect.objectContaining({ jobId: 7, state: 'ACTIVE', scheduleType: 'toString' })]);
    expect(notes).toEqual(['state=constructor', 'state=__proto__', 'scheduleType=toString']);
    expect(clientType('Constructor', u)).toBe('CONSTRUCTOR');
    expect(clientType('__proto__', u)).toBe('_PROTO_');
    expect(scheduleType('hasOwnProperty', u)).toBe('hasOwnProperty');
  });

  it('skips items that are not objects, ids that are not positive whole numbers, and keeps serving the rest', async () => {
    const notes: string[] = [];
    const u = new UnknownValues((f, v) => notes.push(`${f}=${v}`));
    const data = [null, 7, 'x', [], { id: '42', attributes: 'nope' }, job({ jobId: -7 }), job({ jobId: '__proto__' }), job({ jobId: 1.5 }), job({ jobId: '99999999999999999999999' }), { id: '43', attributes: { jobId: null, state: 'QUEUED' } }, job({ jobId: 44, jobType: { toString: 1 }, status: 1e300, parentJobId: 'x' })];
    const r = await pollJobs(pages({ data }), { cursor: null, known: {} }, NOW, u);
    expect(r.records.map((x) => x.jobId)).toEqual([1, 43, 44]);
    expect(r.records[2]).toMatchObject({ jobType: '', parentJobId: 0, status: 0 });
    expect(Object.keys(r.state.known).sort()).toEqual(['1', '43', '44']);
    expect(notes).toContain('jobId=-7');
  });

  it('fails the poll, changing nothing, when the answer has no data list', async () => {
    for (const answer of [{}, { data: {} }, null, 'text', []]) {
      await expect(pollJobs(pages(answer), { cursor: null, known: {} }, NOW, quiet())).rejects.toMatchObject({ code: 'NBW_ERR_POLL_FAILED' });
      await expect(pollImages(pages(answer), { primed: true, known: {} }, NOW, 86_400_000, quiet())).rejects.toMatchObject({ code: 'NBW_ERR_POLL_FAILED' });
    }
  });

  it('never moves the jobs cursor past the bridge\'s clock', async () => {
    const r = await pollJobs(pages({ data: [job({ jobId: 9, lastUpdateTime: '9999-01-01T00:00:00Z' })] }), { cursor: null, known: {} }, NOW, quiet());
    expect(Date.parse(r.state.cursor!)).toBeLessThanOrEqual(NOW);
  });

  it('stops following a cursor that does not move', async () => {
    let calls = 0;
    const get: Get = async () => (calls++, { data: [job({ jobId: calls })], meta: { pagination: { next: 'same' } } });
    await pollJobs(get, { cursor: null, known: {} }, NOW, quiet());
    expect(calls).toBe(2);
  });

  it('takes "__proto__" and "constructor" as plain backup ids', async () => {
    const img = (id: string) => ({ id, attributes: { backupTime: '2026-11-20T09:00:00Z', clientName: 'c', policyType: 'Standard' } });
    const base = await pollImages(pages({ data: [] }), { primed: false, known: {} }, NOW, 86_400_000, quiet());
    const r = await pollImages(pages({ data: [img('__proto__'), img('constructor'), img('exp')] }), base.state, NOW + 1000, 86_400_000, quiet());
    expect(r.records.map((x) => `${x.backupId}:${x.operationId}`)).toEqual(['__proto__:CREATE', 'constructor:CREATE', 'exp:CREATE']);
    const again = await pollImages(pages({ data: [img('__proto__'), img('constructor'), img('exp')] }), JSON.parse(JSON.stringify(r.state)) as ImagesState, NOW + 2000, 86_400_000, quiet());
    expect(again.records).toEqual([]);
  });

  it('reads every page to a short one, whatever count the server claims, and stops on a server that ignores the offset', async () => {
    const all = Array.from({ length: 150 }, (_, i) => ({ id: `i${i}`, attributes: { backupTime: '2026-11-20T09:00:00Z' } }));
    const offsets: number[] = [];
    const get: Get = async (_p, q) => {
      const o = Number(q['page[offset]']);
      offsets.push(o);
      return { data: all.slice(o, o + 100), meta: { pagination: { count: 100 } } };
    };
    const r = await pollImages(get, { primed: false, known: {} }, NOW, 86_400_000, quiet());
    expect(Object.keys(r.state.known)).toHaveLength(150);
    expect(offsets).toEqual([0, 100]);
    let n = 0;
    const stuck: Get = async () => (n++, { data: all.slice(0, 100) });
    await pollImages(stuck, { primed: false, known: {} }, NOW, 86_400_000, quiet());
    expect(n).toBe(2);
  });

  it('counts no misses in a poll that finds no image at all', async () => {
    const img = { id: 'a', attributes: { backupTime: '2026-11-20T09:00:00Z' } };
    let r = await pollImages(pages({ data: [img] }), { primed: false, known: {} }, NOW, 86_400_000, quiet());
    for (let i = 1; i <= 3; i++) {
      r = await pollImages(pages({ data: [] }), r.state, NOW + i * 1000, 86_400_000, quiet());
      expect(r.records).toEqual([]);
    }
    const other = { id: 'b', attributes: { backupTime: '2026-11-20T09:00:00Z' } };
    r = await pollImages(pages({ data: [other] }), r.state, NOW + 5000, 86_400_000, quiet());
    r = await pollImages(pages({ data: [other] }), r.state, NOW + 6000, 86_400_000, quiet());
    expect(r.records.map((x) => `${x.backupId}:${x.operationId}`)).toEqual(['a:DELETE']);
  });

  it('forgets, without a DELETE, an image whose backupTime (kept in seconds) may be before the window, however often it polls', async () => {
    const windowMs = 3_600_000;
    const t = NOW - windowMs + 400; // inside the window by 400 ms
    const img = { id: 'edge', attributes: { backupTime: new Date(t).toISOString() } };
    const other = { id: 'keep', attributes: { backupTime: '2026-11-20T09:59:00Z' } };
    let r = await pollImages(pages({ data: [img, other] }), { primed: false, known: {} }, NOW, windowMs, quiet());
    for (let i = 1; i <= 4; i++) {
      r = await pollImages(pages({ data: [other] }), r.state, NOW + i * 200, windowMs, quiet());
      expect(r.records).toEqual([]);
    }
  });

  it('moves the jobs cursor to 10 s before the newest update seen, never back, and never ahead of what it saw', async () => {
    const seen: string[] = [];
    const at = (iso: string) => Date.parse(iso);
    const get: Get = async (_p, q) => (seen.push(String(q.filter)), { data: [job({ jobId: 1, lastUpdateTime: '2026-11-20T09:00:00.000Z' }), job({ jobId: 2, lastUpdateTime: '2026-11-20T09:30:00.000Z' })] });
    const first = await pollJobs(get, { cursor: '2026-11-20T08:00:00.000Z', known: {} }, NOW, quiet());
    expect(first.state.cursor).toBe(new Date(at('2026-11-20T09:30:00.000Z') - 10_000).toISOString());
    const again = await pollJobs(get, { cursor: '2026-11-20T09:50:00.000Z', known: {} }, NOW, quiet());
    expect(again.state.cursor).toBe('2026-11-20T09:50:00.000Z');
    // A job whose update only became visible later, older than the cursor's last poll time but newer than what was seen, is still asked for.
    const late: Get = async (_p, q) => ({ data: String(q.filter).endsWith(first.state.cursor!) ? [job({ jobId: 3, state: 'QUEUED', lastUpdateTime: '2026-11-20T09:29:55.000Z' })] : [] });
    expect((await pollJobs(late, first.state, NOW + 60_000, quiet())).records.map((r) => r.jobId)).toEqual([3]);
  });

  it('follows a cursor given as a number or a string, and stops at an empty one, a missing one, or an empty page', async () => {
    const afters: unknown[] = [];
    const pagesOf = (nexts: unknown[], empty = false): Get => async (_p, q) => {
      afters.push(q['page[after]']);
      const next = nexts.shift();
      return { data: empty ? [] : [job({ jobId: afters.length })], meta: { pagination: next === undefined ? {} : { next } } };
    };
    await pollJobs(pagesOf([100, '200', '']), { cursor: null, known: {} }, NOW, quiet());
    expect(afters).toEqual([undefined, '100', '200']);
    afters.length = 0;
    await pollJobs(pagesOf(['x']), { cursor: null, known: {} }, NOW, quiet());
    expect(afters).toEqual([undefined, 'x']);
    afters.length = 0;
    await pollJobs(pagesOf([null]), { cursor: null, known: {} }, NOW, quiet());
    expect(afters).toEqual([undefined]);
    afters.length = 0;
    await pollJobs(pagesOf(['y', 'z'], true), { cursor: null, known: {} }, NOW, quiet());
    expect(afters).toEqual([undefined]);
  });

  it('forgets a DONE job a day after its last update, never a running one, and keeps the newest when it knows too many', async () => {
    const day = 24 * 3_600_000;
    const known: JobsState['known'] = { 1: ['DONE', NOW - day - 1], 2: ['DONE', NOW - day + 1], 3: ['ACTIVE', NOW - 10 * day], 4: ['DONE', NOW - day] };
    const r = await pollJobs(pages({ data: [] }), { cursor: null, known }, NOW, quiet());
    expect(Object.keys(r.state.known).sort()).toEqual(['2', '3']);
    // Oldest first, so that keeping the newest takes sorting.
    const many: JobsState['known'] = {};
    for (let i = 0; i < MAX_KNOWN + 5; i++) many[String(i + 1)] = ['ACTIVE', NOW - (MAX_KNOWN + 5) + i];
    const trimmed = await pollJobs(pages({ data: [] }), { cursor: null, known: many }, NOW, quiet());
    const ids = Object.keys(trimmed.state.known);
    expect(ids).toHaveLength(MAX_KNOWN);
    expect(ids).toContain(String(MAX_KNOWN + 5));
    expect(ids).not.toContain('1');
    expect(ids).not.toContain('5');
  });

  it('counts an image at exactly the window\'s start as inside it, takes ids up to 1024 characters, and keeps the newest images when it knows too many', async () => {
    const windowMs = 3_600_000;
    const edge = { id: 'edge', attributes: { backupTime: new Date(NOW - windowMs).toISOString() } };
    const other = { id: 'keep', attributes: { backupTime: '2026-11-20T09:59:00Z' } };
    let r = await pollImages(pages({ data: [edge, other] }), { primed: false, known: {} }, NOW, windowMs, quiet());
    r = await pollImages(pages({ data: [other] }), r.state, NOW, windowMs, quiet());
    r = await pollImages(pages({ data: [other] }), r.state, NOW, windowMs, quiet());
    expect(r.records.map((x) => `${x.backupId}:${x.operationId}`)).toEqual(['edge:DELETE']);
    const notes: string[] = [];
    const u = new UnknownValues((f, v) => notes.push(`${f}=${v.slice(0, 12)}`));
    const ids = { data: [{ id: 'a'.repeat(1024), attributes: { backupTime: '2026-11-20T09:00:00Z' } }, { id: 'b'.repeat(1025), attributes: { backupTime: '2026-11-20T09:00:00Z' } }] };
    const long = await pollImages(pages(ids), { primed: true, known: {} }, NOW, windowMs, u);
    expect(long.records.map((x) => String(x.backupId).length)).toEqual([1024]);
    expect(notes).toEqual([`backupId=${'b'.repeat(12)}`]);
    const many: ImagesState['known'] = {};
    // Oldest first, so that keeping the newest takes sorting.
    for (let i = 0; i < MAX_KNOWN_IMAGES + 5; i++) many[`i${i}`] = { exp: null, copies: 1, time: Math.floor(NOW / 1000) - (MAX_KNOWN_IMAGES + 5) + i, client: 'c', type: 'T', local: true, misses: 0 };
    const trimmed = await pollImages(pages({ data: [other] }), { primed: true, known: many }, NOW, 86_400_000 * 400, quiet());
    expect(Object.keys(trimmed.state.known)).toHaveLength(MAX_KNOWN_IMAGES);
    expect(trimmed.state.known[`i${MAX_KNOWN_IMAGES + 4}`]).toBeDefined();
    expect(trimmed.state.known.i0).toBeUndefined();
  });

  it('reports a DELETE for an image an older release remembered, with what it knew of it', async () => {
    const t = Math.floor(NOW / 1000) - 60;
    const other = { id: 'keep', attributes: { backupTime: '2026-11-20T09:59:00Z' } };
    let r = await pollImages(pages({ data: [other] }), { primed: true, known: { old: [null, 1, t] } }, NOW, 86_400_000, quiet());
    r = await pollImages(pages({ data: [other] }), r.state, NOW, 86_400_000, quiet());
    expect(r.records).toEqual([{ backupId: 'old', clientName: '', clientType: '', backupTime: t, createdTime: Math.floor(NOW / 1000), operationId: 'DELETE' }]);
  });

  it('reports exactly MAX_UNKNOWN distinct values, and cuts one only past 80 characters', () => {
    const notes: string[] = [];
    const u = new UnknownValues((_f, v) => notes.push(v));
    u.note('state', 'x'.repeat(80));
    u.note('state', `${'y'.repeat(80)}z`);
    expect(notes).toEqual(['x'.repeat(80), `${'y'.repeat(80)}…`]);
    for (let i = 0; i < 300; i++) u.note('state', `v${i}`);
    expect(notes).toHaveLength(256);
  });

  it('takes an empty policy type and an upper-case one it does not know as they are, without naming them', () => {
    const notes: string[] = [];
    const u = new UnknownValues((f, v) => notes.push(`${f}=${v}`));
    expect([clientType('', u), clientType('NEW_TYPE2', u), clientType('K8S', u)]).toEqual(['', 'NEW_TYPE2', 'K8S']);
    expect(notes).toEqual([]);
  });

  it('reports only so many unknown values, each cut short', () => {
    const notes: string[] = [];
    const u = new UnknownValues((f, v) => notes.push(`${f}=${v}`));
    for (let i = 0; i < 5000; i++) u.note('state', `${'x'.repeat(10_000)}${i}`);
    expect(notes.length).toBeLessThanOrEqual(256);
    expect(Math.max(...notes.map((n) => n.length))).toBeLessThan(100);
  });
});

describe('notification types and their switches', () => {
  it('every registered type has its switch in the schema, and every switch a type', async () => {
    expect([...NOTIFICATION_SWITCHES].sort()).toEqual(POLLERS.map((p) => p.kind).sort());
  });

  it('the loader and the part read the same switches: images alone turn notifications on', async () => {
    const base = { jobs: false, images: false, pollMs: 1000, apiKeyFile: null, batchMax: 1, ackTimeoutMs: 100, maxPending: 1, imagesWindowMs: 60_000, maxBackoffMs: 1000 };
    expect(notificationSwitchOn(base)).toBeNull();
    expect(notificationSwitchOn({ ...base, images: true })).toBe('images');
    expect(notificationSwitchOn({ ...base, jobs: true, images: true })).toBe('jobs');
  });
});
