// The bridge's messages against NetBackup's, field for field: the fixtures in fixtures/nbwss/
// are shaped like NetBackup's published examples; the bridge, fed the REST API's view of the
// same events (the simulator speaks the real jobs and catalog APIs), must produce them exactly.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NbSim } from '../../src/demo/nb-sim.js';
import { simGet } from '../support/nb-sim.js';
import { pollImages, type ImagesState } from '../../src/notifications/images.js';
import { pollJobs } from '../../src/notifications/jobs.js';
import { UnknownValues } from '../../src/notifications/vocabulary.js';
import { decodeFrame, encodeConnectRequest, encodeNotificationRequest } from '../../src/protocol/codec.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/nbwss/${name}`, import.meta.url), 'utf8'));
const iso = (s: number) => new Date(s * 1000).toISOString();


/** The message as JSON text would give it: key order included. */
const exactly = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

describe('fidelity to NetBackup\'s messages', () => {
  it('CONNECT REQUEST: the same fields, in the same order', () => {
    const f = fixture('connect-request.json') as { id: string; timeStamp: number; payload: { token: string } };
    exactly(JSON.parse(encodeConnectRequest(f.id, f.payload.token, f.timeStamp)), f);
  });

  it('CONNECT RESPONSE: NetBackup\'s example is valid, and nothing about it is unusual', () => {
    expect(decodeFrame(JSON.stringify(fixture('connect-response.json')))).toEqual({ kind: 'connect-response', id: '2B4E6F0A-1C3D-4E5F-8A9B-0C1D2E3F4A5B', valid: true });
  });

  it('JOB notification: built from the jobs API, field for field', async () => {
    const f = fixture('job-notification.json') as { id: string; timeStamp: number; payload: { data: Record<string, unknown>[] }[] };
    let now = 1444856000 * 1000;
    const sim = new NbSim({ now: () => now });
    const get = simGet(sim);
    let state = (await pollJobs(get, { cursor: null, known: {} }, now, new UnknownValues(() => {}))).state;
    now += 1000;
    const done = sim.addJob({ jobId: 4711, parentJobId: 4711, policyName: 'vm-daily', clientName: 'vm01.domain.com', startTime: iso(1444857000) });
    const active = sim.addJob({ jobId: 4712, policyType: 'STANDARD', policyName: 'fs-weekly', scheduleType: 'DIFFERENTIAL_INCREMENTAL_BACKUP', clientName: 'fs01.domain.com', startTime: iso(1444856900) });
    state = (await pollJobs(get, state, now, new UnknownValues(() => {}))).state;
    sim.setJobState(done.jobId, 'ACTIVE');
    sim.setJobState(done.jobId, 'DONE', 0);
    sim.setJobState(active.jobId, 'ACTIVE');
    now += 1000;
    const { records } = await pollJobs(get, state, now, new UnknownValues(() => {}));
    const message = JSON.parse(encodeNotificationRequest(f.id, [{ notificationType: 'INFO', object: 'JOB', data: records }], f.timeStamp));
    exactly(message, f);
  });

  it('IMAGE notification with several records: built from the catalog API, field for field', async () => {
    const f = fixture('image-notification.json') as { id: string; timeStamp: number };
    const created = 1459832492;
    let now = (created - 120) * 1000;
    const sim = new NbSim({ now: () => now });
    const window = 30 * 86_400_000;
    sim.addImage({ backupId: 'client01_1458601200', clientName: 'client01', policyType: 'VMware', backupTime: iso(1458601200) });
    sim.addImage({ backupId: 'client03_1459700000', clientName: 'client03', policyType: 'VMware', backupTime: iso(1459700000) });
    sim.addCopy('client03_1459700000', 'CLOUD_SNAPSHOT_REPLICA');
    let state: ImagesState = (await pollImages(simGet(sim), { primed: false, known: {} }, now, window, new UnknownValues(() => {}))).state;
    sim.images.delete('client01_1458601200');
    now += 60_000;
    state = (await pollImages(simGet(sim), state, now, window, new UnknownValues(() => {}))).state;
    sim.addImage({ backupId: 'client02_1459810000', clientName: 'client02', policyType: 'Standard', backupTime: iso(1459810000) });
    sim.expireCopy('client03_1459700000', 1);
    now = created * 1000;
    const { records } = await pollImages(simGet(sim), state, now, window, new UnknownValues(() => {}));
    // The copy count changed too: NetBackup's example carries the three other operations.
    const shown = records.filter((r) => r.operationId !== 'UPDATE');
    const order = ['DELETE', 'CREATE', 'NO_LOCAL_COPY_AVAILABLE'];
    shown.sort((a, b) => order.indexOf(String(a.operationId)) - order.indexOf(String(b.operationId)));
    const message = JSON.parse(encodeNotificationRequest(f.id, [{ notificationType: 'INFO', object: 'IMAGE', data: shown }], f.timeStamp));
    exactly(message, f);
  });
});
