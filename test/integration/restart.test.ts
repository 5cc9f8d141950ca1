// Durable state: the built bridge killed with SIGKILL and started again on the same state dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_FILE } from '../../src/dedupe/journal.js';
import { sleep } from '../support/bridge.js';
import { FakeCloud, RestServer, sendJson, type CloudPeer } from '../support/fakes.js';
import { until } from '../support/wait.js';
import { childEnv } from '../support/cli-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function bridgeProcess(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [join(root, 'bin', 'nbwss-bridge'), 'run'], {
    cwd: root,
    env: childEnv({ PATH: process.env.PATH ?? '', NBWSS_RECONNECT_MIN_MS: '50', NBWSS_RECONNECT_MAX_MS: '200', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}


async function setup() {
  const stateDir = mkdtempSync(join(tmpdir(), 'nbwss-state-'));
  let holding = true;
  const rest = await new RestServer((req, res) => {
    if (holding && req.url.includes('/slow')) return;
    sendJson(res, req.method === 'POST' ? 201 : 200, { method: req.method, url: req.url, at: Date.now() });
  }).start();
  const cloud = await new FakeCloud({ token: 'restart-token' }).start();
  cleanups.push(() => rest.stop(), () => cloud.stop());
  const env = { NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: 'restart-token', NBWSS_REST_BASE_URL: rest.url, NBWSS_STATE_DIR: stateDir };
  return { stateDir, rest, cloud, env, release: () => (holding = false) };
}

const send = (peer: CloudPeer, id: string, method: string, uri: string) => peer.sendCommand(method, uri, { id, parameters: method === 'GET' ? undefined : '{"a":1}' });

describe('restart with a state dir', () => {
  it('after kill -9: stored answers are replayed, an unfinished POST is answered 409, an unfinished GET runs again', async () => {
    const { stateDir, rest, cloud, env, release } = await setup();
    const first = bridgeProcess(env);
    const p1 = await cloud.readyPeer(0, 15_000);
    const stored = await p1.responseFor(send(p1, 'DONE', 'POST', '/netbackup/config/done'), 5000);
    expect(stored.payload.responseCode).toBe(201);
    send(p1, 'SLOW-POST', 'POST', '/netbackup/config/slow-post');
    send(p1, 'SLOW-GET', 'GET', '/netbackup/admin/slow-get');
    await until(() => rest.requests.length === 3, 5000, 'the slow calls to start');
    first.child.kill('SIGKILL');
    await first.exited;

    release();
    const second = bridgeProcess(env);
    const p2 = await cloud.readyPeer(1, 15_000);
    await until(() => second.output().includes('state restored from the journal'), 5000, 'the restore log line');
    const restored = JSON.parse(second.output().split('\n').find((l) => l.includes('state restored')) ?? '{}');
    expect(restored).toMatchObject({ done: 1, interrupted: 2, dir: stateDir });

    send(p2, 'DONE', 'POST', '/netbackup/config/done');
    const again = await p2.responseFor('DONE', 5000);
    expect(again.payload).toEqual(stored.payload);

    send(p2, 'SLOW-POST', 'POST', '/netbackup/config/slow-post');
    const unknown = await p2.responseFor('SLOW-POST', 5000);
    expect(unknown.payload.responseCode).toBe(409);
    const body = JSON.parse(unknown.payload.body);
    expect(body.details.code).toBe('NBW_ERR_OUTCOME_UNKNOWN');
    expect(body.errorMessage).toMatch(/outcome unknown: the bridge restarted while this POST was running/);

    send(p2, 'SLOW-GET', 'GET', '/netbackup/admin/slow-get');
    expect((await p2.responseFor('SLOW-GET', 5000)).payload.responseCode).toBe(200);

    expect(rest.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /netbackup/config/done',
      'POST /netbackup/config/slow-post',
      'GET /netbackup/admin/slow-get',
      'GET /netbackup/admin/slow-get',
    ]);

    // The 409 is now the id's answer: asked again, it is given again, and nothing runs.
    send(p2, 'SLOW-POST', 'POST', '/netbackup/config/slow-post');
    await until(() => p2.responsesFor('SLOW-POST').length === 2, 5000, 'the 409 again');
    expect(p2.responsesFor('SLOW-POST')[1]?.payload.responseCode).toBe(409);
    expect(rest.requests).toHaveLength(4);
  }, 40_000);

  it('cuts off a truncated journal tail, logs it, and starts with what came before', async () => {
    const { stateDir, cloud, env, rest } = await setup();
    const first = bridgeProcess(env);
    const p1 = await cloud.readyPeer(0, 15_000);
    await p1.responseFor(send(p1, 'KEPT', 'POST', '/netbackup/config/kept'), 5000);
    first.child.kill('SIGKILL');
    await first.exited;
    const journal = join(stateDir, JOURNAL_FILE);
    const good = readFileSync(journal).length;
    appendFileSync(journal, '0badc0de {"t":"d","id":"HALF","m":"POST","at":1,"f":"{\\"trunc');

    const second = bridgeProcess(env);
    const p2 = await cloud.readyPeer(1, 15_000);
    await until(() => second.output().includes('NBW_ERR_JOURNAL_CORRUPT'), 5000, 'the corruption warning');
    const warning = JSON.parse(second.output().split('\n').find((l) => l.includes('NBW_ERR_JOURNAL_CORRUPT')) ?? '{}');
    expect(warning).toMatchObject({ level: 'warn', validBytes: good });
    send(p2, 'KEPT', 'POST', '/netbackup/config/kept');
    expect((await p2.responseFor('KEPT', 5000)).payload.responseCode).toBe(201);
    expect(rest.requests).toHaveLength(1);
    expect((await p2.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
  }, 40_000);

  it('stops start-up with exit code 2 naming state.dir when it cannot be used', async () => {
    const { env } = await setup();
    const blocked = join(mkdtempSync(join(tmpdir(), 'nbwss-state-')), 'file');
    appendFileSync(blocked, 'x');
    const p = bridgeProcess({ ...env, NBWSS_STATE_DIR: join(blocked, 'sub') });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/configuration error: state\.dir: cannot use .*sub: (ENOTDIR|EEXIST)/);
  });
});
