// Notifications end to end: a jobs/images simulator behind the REST port, the daemon polling
// it, the test cloud receiving NOTIFICATION REQUESTs and acknowledging them (or not).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { NbSim } from '../../src/demo/nb-sim.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { sleep } from '../support/bridge.js';
import { FakeCloud, netbackupHandler, RestServer, type CloudMessage, type CloudPeer } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { until } from '../support/wait.js';
import { childEnv } from '../support/cli-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


/** Every record of every NOTIFICATION REQUEST a peer received, with the request's id. */
const recordsOf = (msgs: CloudMessage[]): Record<string, unknown>[] =>
  msgs.flatMap((m) => (m.payload as { object: string; data: Record<string, unknown>[] }[]).flatMap((n) => n.data.map((d) => ({ id: m.id as string, object: n.object, ...d }))));

/** Waits until the simulator answered a first poll of `path`: what is added afterwards is a change, not the baseline. */
const firstPoll = (sim: NbSim, path = '/netbackup/admin/jobs') => until(() => sim.queries.some((q) => q.startsWith(path)), 5000, `a first poll of ${path}`);

interface Setup {
  sim: NbSim;
  rest: RestServer;
  cloud: FakeCloud;
  stateDir: string;
  keyFile: string;
  env: Record<string, string>;
}

async function servers(opts: { ack?: boolean; sim?: NbSim; restHandler?: boolean } = {}): Promise<Setup> {
  const sim = opts.sim ?? new NbSim();
  const rest = await new RestServer(netbackupHandler(sim)).start();
  const cloud = await new FakeCloud({ token: 'notify-token', ackNotifications: opts.ack ?? true }).start();
  cleanups.push(() => rest.stop(), () => cloud.stop());
  const stateDir = mkdtempSync(join(tmpdir(), 'nbwss-notify-state-'));
  const keyFile = join(stateDir, '..', `apikey-${Math.random().toString(36).slice(2)}`);
  writeFileSync(keyFile, 'A1B2C3-api-key-secret\n', { mode: 0o600 });
  const env = {
    NBWSS_CLOUD_URL: cloud.url,
    NBWSS_CLOUD_TOKEN: 'notify-token',
    NBWSS_REST_BASE_URL: rest.url,
    NBWSS_STATE_DIR: stateDir,
    NBWSS_NOTIFY_JOBS: 'true',
    NBWSS_NOTIFY_API_KEY_FILE: keyFile,
    NBWSS_NOTIFY_POLL_MS: '100',
    NBWSS_NOTIFY_ACK_TIMEOUT_MS: '400',
    NBWSS_RECONNECT_MIN_MS: '50',
    NBWSS_RECONNECT_MAX_MS: '200',
  };
  return { sim, rest, cloud, stateDir, keyFile, env };
}

async function daemon(env: Record<string, string>) {
  const { config } = loadConfig({ env, purpose: 'run' });
  const logs = captureLog();
  const d = await Daemon.open(config, logs.log);
  await d.start();
  cleanups.push(() => d.stop());
  return { d, logs };
}

describe('job notifications', () => {
  it("report a job's life from QUEUED to DONE exactly once per state, in NBWSS vocabulary", async () => {
    const s = await servers();
    const { logs } = await daemon(s.env);
    const peer = await s.cloud.readyPeer(0);
    await firstPoll(s.sim);
    const job = s.sim.addJob({ scheduleType: 'DIFFERENTIAL_INCREMENTAL_BACKUP', clientName: 'vm42.domain.com' });
    await until(() => recordsOf(peer.notifications()).length === 1, 3000, 'QUEUED');
    s.sim.setJobState(job.jobId, 'ACTIVE');
    for (let i = 1; i <= 3; i++) {
      s.sim.progress(job.jobId, i * 1024);
      await sleep(150);
    }
    s.sim.setJobState(job.jobId, 'DONE', 0);
    await until(() => recordsOf(peer.notifications()).length === 3, 3000, 'DONE');
    await sleep(500);
    const records = recordsOf(peer.notifications());
    expect(records.map((r) => r.state)).toEqual(['QUEUED', 'ACTIVE', 'DONE']);
    expect(records[2]).toMatchObject({ object: 'JOB', jobId: job.jobId, jobType: 'BACKUP', policyType: 'VMWARE', scheduleType: 'ST_DINC', clientName: 'vm42.domain.com', state: 'DONE', status: 0 });
    expect(typeof records[2]?.startTime).toBe('number');
    for (const r of records) {
      const { id: _id, object: _object, ...fields } = r;
      expect(Object.keys(fields)).toEqual(['jobId', 'parentJobId', 'jobType', 'policyType', 'policyName', 'scheduleType', 'clientName', 'state', 'status', 'startTime']);
    }
    const first = peer.notifications()[0];
    expect(first).toMatchObject({ version: '1.0', type: 'NOTIFICATION', subType: 'REQUEST' });
    expect(first?.payload[0]).toMatchObject({ notificationType: 'INFO', object: 'JOB' });
    const polls = s.rest.requests.filter((r) => r.url.startsWith('/netbackup/admin/jobs'));
    expect(polls[0]?.headers.authorization).toBe('A1B2C3-api-key-secret');
    expect(logs.text()).not.toContain('A1B2C3-api-key-secret');
    expect(peer.notifications().every((m) => !JSON.stringify(m).includes('A1B2C3'))).toBe(true);
  });

  it('batches records, at most notifications.batchMax per NOTIFICATION REQUEST', async () => {
    const s = await servers();
    await daemon({ ...s.env, NBWSS_NOTIFY_BATCH_MAX: '10' });
    const peer = await s.cloud.readyPeer(0);
    await firstPoll(s.sim);
    for (let i = 0; i < 25; i++) s.sim.addJob();
    await until(() => recordsOf(peer.notifications()).length === 25, 3000, '25 records');
    const sizes = peer.notifications().map((m) => (m.payload[0].data as unknown[]).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(25);
  });

  it('resend an unacknowledged notification with the same id after ackTimeoutMs, and stop once it is acknowledged', async () => {
    const s = await servers({ ack: false });
    await daemon(s.env);
    const peer = await s.cloud.readyPeer(0);
    await firstPoll(s.sim);
    s.sim.addJob();
    await until(() => peer.notifications().length >= 2, 3000, 'a resend');
    const [a, b] = peer.notifications();
    expect(b?.id).toBe(a?.id);
    peer.send({ version: '1.0', id: a?.id, type: 'NOTIFICATION', subType: 'RESPONSE', timeStamp: 1, payload: {} });
    await sleep(200);
    const count = peer.notifications().length;
    await sleep(1000);
    expect(peer.notifications()).toHaveLength(count);
  });

  it('resend what was not acknowledged after a reconnect, with the same ids, in order', async () => {
    const s = await servers({ ack: false });
    await daemon({ ...s.env, NBWSS_NOTIFY_ACK_TIMEOUT_MS: '60000', NBWSS_NOTIFY_BATCH_MAX: '1' });
    const first = await s.cloud.readyPeer(0);
    await firstPoll(s.sim);
    for (let i = 0; i < 3; i++) s.sim.addJob();
    await until(() => first.notifications().length === 3, 3000, 'three notifications');
    const ids = first.notifications().map((m) => m.id);
    first.send({ version: '1.0', id: ids[0], type: 'NOTIFICATION', subType: 'RESPONSE', timeStamp: 1, payload: {} });
    await sleep(100);
    first.ws.terminate();
    const second = await s.cloud.readyPeer(1);
    await until(() => second.notifications().length === 2, 3000, 'the resends');
    expect(second.notifications().map((m) => m.id)).toEqual(ids.slice(1));
  });

  it('step the API version down on 406 and keep the one found', async () => {
    const s = await servers({ sim: new NbSim({ maxVersion: 12 }) });
    await daemon(s.env);
    const peer = await s.cloud.readyPeer(0);
    // The version is found on the first poll; the job comes after it.
    await until(() => s.rest.requests.some((r) => String(r.headers.accept).endsWith('version=12.0')), 5000, 'the version found');
    s.sim.addJob();
    await until(() => peer.notifications().length === 1, 3000, 'a notification');
    const accepts = s.rest.requests.filter((r) => r.url.startsWith('/netbackup/admin/jobs')).map((r) => r.headers.accept);
    expect(accepts.slice(0, 3)).toEqual(['14.0', '13.0', '12.0'].map((v) => `application/vnd.netbackup+json;version=${v}`));
    expect(new Set(accepts.slice(3))).toEqual(new Set(['application/vnd.netbackup+json;version=12.0']));
  });

  it('never step the jobs API below 9.0, where cursor paging begins: the poll fails with a warning that says so', async () => {
    const s = await servers({ sim: new NbSim({ maxVersion: 8 }) });
    const { logs } = await daemon(s.env);
    await s.cloud.readyPeer(0);
    await until(() => logs.text().includes('NBW_ERR_POLL_FAILED'), 3000, 'the poll warning');
    const accepts = s.rest.requests.filter((r) => r.url.startsWith('/netbackup/admin/jobs')).map((r) => r.headers.accept);
    expect(new Set(accepts)).toEqual(new Set(['14.0', '13.0', '12.0', '11.0', '10.0', '9.0'].map((v) => `application/vnd.netbackup+json;version=${v}`)));
    expect(logs.text()).toMatch(/polling this API needs 9\.0 or later/);
  });

  it('back off on 503, honour Retry-After on 429, and keep the command path answering meanwhile', async () => {
    const s = await servers();
    s.sim.faults.push({ status: 503 }, { status: 503 }, { status: 429, retryAfter: '1' });
    const { logs } = await daemon(s.env);
    const peer = await s.cloud.readyPeer(0);
    expect((await peer.command('GET', '/netbackup/config/servers/vmservers')).payload.responseCode).toBe(200);
    await until(() => logs.lines().filter((l) => l.code === 'NBW_ERR_POLL_FAILED').length === 3, 5000, 'three failed polls');
    const fails = logs.lines().filter((l) => l.code === 'NBW_ERR_POLL_FAILED');
    expect(fails.map((l) => l.status)).toEqual([503, 503, 429]);
    // Waits grow from pollMs (100) with jitter: the k-th failure in a row waits between 100 and 100 × 2^k ms.
    expect(fails.map((l) => l.failures)).toEqual([1, 2, 3]);
    expect(fails[0]?.retryInMs).toBeGreaterThanOrEqual(100);
    expect(fails[0]?.retryInMs).toBeLessThanOrEqual(200);
    expect(fails[1]?.retryInMs).toBeGreaterThanOrEqual(100);
    expect(fails[1]?.retryInMs).toBeLessThanOrEqual(400);
    expect(fails[2]?.retryInMs).toBe(1000);
    s.sim.addJob();
    await until(() => peer.notifications().length === 1, 5000, 'notifications once the API is back');
  });

  it('never take a slot of the command queue: commands are answered while the jobs API hangs', async () => {
    const s = await servers();
    const hang = new Set<unknown>();
    const handler = s.rest.handler;
    s.rest.handler = (req, res) => (req.url.startsWith('/netbackup/admin/jobs') ? void hang.add(res) : handler(req, res));
    await daemon({ ...s.env, NBWSS_CONCURRENCY: '1' });
    const peer = await s.cloud.readyPeer(0);
    await until(() => hang.size > 0, 3000, 'a hanging poll');
    expect((await peer.command('GET', '/netbackup/config/servers/vmservers')).payload.responseCode).toBe(200);
  });

  it('reach every endpoint group, with acknowledgements tracked per group', async () => {
    const s = await servers();
    const other = await new FakeCloud({ token: 'notify-token', ackNotifications: false }).start();
    cleanups.push(() => other.stop());
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-groups-'));
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ cloud: { endpoints: [{ url: s.cloud.url, token: 'notify-token', group: 'a' }, { url: other.url, token: 'notify-token', group: 'b' }] } }));
    const env = { ...s.env, NBWSS_CONFIG: cfg } as Record<string, string>;
    delete env.NBWSS_CLOUD_URL;
    delete env.NBWSS_CLOUD_TOKEN;
    const { d } = await daemon(env);
    const pa = await s.cloud.readyPeer(0);
    const pb = await other.readyPeer(0);
    await firstPoll(s.sim);
    s.sim.addJob();
    await until(() => pa.notifications().length === 1 && pb.notifications().length >= 1, 3000, 'both groups');
    await sleep(200);
    expect(d.notifier?.pending).toHaveLength(1);
    expect(d.notifier?.pending[0]?.groups).toEqual(['b']);
    pb.send({ version: '1.0', id: pb.notifications()[0]?.id, type: 'NOTIFICATION', subType: 'RESPONSE', timeStamp: 1, payload: {} });
    await until(() => d.notifier?.pending.length === 0, 2000, 'acknowledged by both');
    expect(pa.notifications()).toHaveLength(1);
  });

  it('cap what waits for acknowledgement at notifications.maxPending, dropping the oldest with one warning', async () => {
    const s = await servers({ ack: false });
    const { d, logs } = await daemon({ ...s.env, NBWSS_NOTIFY_MAX_PENDING: '5', NBWSS_NOTIFY_BATCH_MAX: '1' });
    await s.cloud.readyPeer(0);
    await firstPoll(s.sim);
    for (let i = 0; i < 8; i++) s.sim.addJob();
    await until(() => logs.lines().some((l) => /maxPending reached/.test(String(l.msg))), 3000, 'the warning');
    expect(d.notifier?.pendingRecords).toBe(5);
    expect(logs.lines().find((l) => /maxPending reached/.test(String(l.msg)))).toMatchObject({ dropped: 3 });
  });

  it('need a state dir and an API key file', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env: { NBWSS_CLOUD_URL: 'wss://c.example/x', NBWSS_CLOUD_TOKEN: 't', ...env }, purpose: 'run' });
      } catch (err) {
        return (err as { problems: string[] }).problems.join('\n');
      }
      return '';
    };
    expect(problems({ NBWSS_NOTIFY_JOBS: 'true', NBWSS_NOTIFY_API_KEY_FILE: '/x' })).toMatch(/notifications need state\.dir/);
    expect(problems({ NBWSS_NOTIFY_IMAGES: 'true', NBWSS_STATE_DIR: '/tmp' })).toMatch(/notifications\.apiKeyFile: required/);
  });
});

describe('image notifications', () => {
  it('report new images (CREATE), changed ones (UPDATE), deleted ones (DELETE) and lost local copies (NO_LOCAL_COPY_AVAILABLE) after the first poll set the baseline', async () => {
    const s = await servers();
    s.sim.addImage({ backupId: 'before_1' });
    s.sim.addImage({ backupId: 'before_2', clientName: 'client02', policyType: 'Standard' });
    s.sim.addImage({ backupId: 'before_3' });
    s.sim.addCopy('before_3', 'CLOUD_SNAPSHOT_REPLICA');
    await daemon({ ...s.env, NBWSS_NOTIFY_JOBS: 'false', NBWSS_NOTIFY_IMAGES: 'true' });
    const peer = await s.cloud.readyPeer(0);
    await firstPoll(s.sim, '/netbackup/catalog/images');
    s.sim.addImage({ backupId: 'client01_1458601200', clientName: 'client01', scheduleType: 'USER_BACKUP' });
    s.sim.addCopy('before_1');
    s.sim.images.delete('before_2');
    s.sim.expireCopy('before_3', 1);
    const ops = () => recordsOf(peer.notifications()).map((r) => `${r.backupId}:${r.operationId}`).sort();
    await until(() => ops().length === 5, 3000, 'five image records');
    await sleep(300);
    expect(ops()).toEqual(['before_1:UPDATE', 'before_2:DELETE', 'before_3:NO_LOCAL_COPY_AVAILABLE', 'before_3:UPDATE', 'client01_1458601200:CREATE']);
    const records = recordsOf(peer.notifications());
    for (const r of records) {
      const { id: _id, object, ...fields } = r;
      expect(object).toBe('IMAGE');
      expect(Object.keys(fields)).toEqual(['backupId', 'clientName', 'clientType', 'backupTime', 'createdTime', 'operationId']);
    }
    expect(records.find((r) => r.operationId === 'CREATE')).toMatchObject({ clientName: 'client01', clientType: 'VMWARE' });
    expect(records.find((r) => r.operationId === 'DELETE')).toMatchObject({ clientName: 'client02', clientType: 'STANDARD' });
  });
});

describe('across a kill -9', () => {
  it('lose nothing and repeat nothing acknowledged: pending ones come back with their ids, changes made while down once', async () => {
    const s = await servers({ ack: false });
    // The simulator must outlive the bridge: it is served in this process, the bridge runs as a child.
    const start = () => {
      // One record per notification, so that several ids are pending when the bridge is killed.
      const child = spawn(process.execPath, [join(root, 'bin', 'nbwss-bridge'), 'run'], { cwd: root, env: childEnv({ PATH: process.env.PATH ?? '', ...s.env, NBWSS_NOTIFY_BATCH_MAX: '1' }), stdio: 'ignore' });
      cleanups.push(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      return child;
    };
    const first = start();
    const p1 = await s.cloud.readyPeer(0, 15_000);
    await sleep(500);
    const a = s.sim.addJob();
    const b = s.sim.addJob();
    await until(() => recordsOf(p1.notifications()).length >= 2, 5000, 'two records');
    const ids = [...new Set(p1.notifications().map((m) => m.id as string))];
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const ackedId = ids[0] as string;
    p1.send({ version: '1.0', id: ackedId, type: 'NOTIFICATION', subType: 'RESPONSE', timeStamp: 1, payload: {} });
    await sleep(300);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    s.sim.setJobState(a.jobId, 'ACTIVE');
    s.sim.setJobState(a.jobId, 'DONE', 0);

    s.cloud.ackNotifications = true;
    start();
    const p2 = await s.cloud.readyPeer(1, 15_000);
    await until(() => recordsOf(p2.notifications()).some((r) => r.state === 'DONE'), 5000, 'the DONE record');
    await sleep(500);
    const resentIds = p2.notifications().map((m) => m.id as string);
    expect(resentIds).not.toContain(ackedId);
    for (const id of ids.slice(1)) expect(resentIds).toContain(id);
    const states = recordsOf(p2.notifications()).filter((r) => r.jobId === a.jobId).map((r) => r.state);
    expect(states.filter((x) => x === 'DONE')).toHaveLength(1);
    expect(states).not.toContain('ACTIVE');
    const all = [...recordsOf(p1.notifications()), ...recordsOf(p2.notifications())].filter((r) => r.jobId === b.jobId && r.state === 'QUEUED');
    expect(new Set(all.map((r) => r.id)).size).toBe(1);
  }, 40_000);
});

export type { CloudPeer };

describe('notifications and a reload', () => {
  it('follow a reload that moves rest.baseUrl: polls go to the new REST API, as commands do', async () => {
    const s = await servers();
    const { d } = await daemon(s.env);
    await s.cloud.readyPeer(0);
    await until(() => s.rest.requests.some((r) => r.url.startsWith('/netbackup/admin/jobs')), 3000, 'a first poll');
    const moved = await new RestServer(netbackupHandler(s.sim)).start();
    cleanups.push(() => moved.stop());
    const { config } = loadConfig({ env: { ...s.env, NBWSS_REST_BASE_URL: moved.url }, purpose: 'run' });
    expect(d.reload(config)).not.toContain('rest.baseUrl');
    await until(() => moved.requests.some((r) => r.url.startsWith('/netbackup/admin/jobs')), 3000, 'a poll to the new REST API');
    const before = s.rest.requests.length;
    await sleep(400);
    expect(s.rest.requests.length).toBe(before);
  });
});
