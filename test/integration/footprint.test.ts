// What the daemon loads: only what its configuration uses. The built command runs in a child
// process with test/support/loads.mjs preloaded, which lists every module loaded so far on SIGUSR2.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCloud, makeEnvelope, RestServer, sendJson } from '../support/fakes.js';
import { childEnv } from '../support/cli-env.js';
import { ConnectProxy } from '../support/proxy.js';
import { until } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(env: Record<string, string>) {
  const rest = await new RestServer((_req, res) => sendJson(res, 200, { ok: true })).start();
  const cloud = await new FakeCloud({ token: 'footprint-token' }).start();
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-loads-'));
  const list = join(dir, 'loads.txt');
  const child: ChildProcess = spawn(process.execPath, ['--import', join(root, 'test', 'support', 'loads.mjs'), join(root, 'bin', 'nbwss-bridge'), 'run'], {
    cwd: root,
    env: childEnv({ PATH: process.env.PATH ?? '', NBWSS_CLOUD_URL: cloud.url, NBWSS_CLOUD_TOKEN: 'footprint-token', NBWSS_REST_BASE_URL: rest.url, NBWSS_TEST_LOADS: list, ...env }),
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.on('exit', r));
  cleanups.push(() => rest.stop(), () => cloud.stop(), () => rmSync(dir, { recursive: true, force: true }), async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const peer = await cloud.readyPeer(0);
  /** The packages (and the bridge's own modules) loaded so far. */
  const loaded = async () => {
    rmSync(list, { force: true });
    child.kill('SIGUSR2');
    await until(() => existsSync(list));
    const all = readFileSync(list, 'utf8').split('\n');
    const packages = new Set(all.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter((p): p is string => p !== undefined));
    return { packages, files: all };
  };
  return { peer, loaded };
}

describe('what the daemon loads', () => {
  it('serves at its default settings without the schema library, metrics, notifications or the rest of undici; loads the schema for the first request that needs it', async () => {
    const { peer, loaded } = await daemon({});
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    const before = await loaded();
    expect(before.packages).toContain('ws');
    expect(before.packages).toContain('undici');
    for (const p of ['zod', 'prom-client', 'https-proxy-agent']) expect(before.packages).not.toContain(p);
    expect(before.files.filter((f) => /undici\/index\.js$/.test(f))).toEqual([]);
    for (const m of ['metrics/part.js', 'metrics/prometheus.js', 'notifications/part.js', 'cli/replay.js', 'doctor/run.js']) {
      expect(before.files.filter((f) => f.endsWith(`dist/${m}`))).toEqual([]);
    }
    // A request only the schema can describe: answered 400 naming the field, and the one after it as ever.
    const envelope = makeEnvelope('COMMAND', 'REQUEST', { uri: 7, method: 'GET' });
    peer.send(envelope);
    const bad = await peer.responseFor(envelope.id);
    expect(bad.payload.responseCode).toBe(400);
    expect(String(bad.payload.body)).toMatch(/invalid COMMAND REQUEST: payload\.uri/);
    expect((await loaded()).packages).toContain('zod');
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
  });

  it('loads the proxy agent when the cloud is dialled through a proxy', async () => {
    const proxy = await new ConnectProxy().start();
    cleanups.push(() => proxy.stop());
    const { peer, loaded } = await daemon({ NBWSS_CLOUD_PROXY: proxy.url });
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    expect(proxy.tunnels).toHaveLength(1);
    expect((await loaded()).packages).toContain('https-proxy-agent');
  });

  it('loads metrics when metrics.listen is set', async () => {
    const { peer, loaded } = await daemon({ NBWSS_METRICS_LISTEN: '127.0.0.1:0' });
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    expect((await loaded()).packages).toContain('prom-client');
  });
});
