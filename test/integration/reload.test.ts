// Live reload: SIGHUP to the built bridge re-reads the config and token files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { sleep, startBridge, type TestBridge } from '../support/bridge.js';
import { FakeCloud, RestServer, sendJson } from '../support/fakes.js';
import { until } from '../support/wait.js';
import { childEnv } from '../support/cli-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-reload-'));
  const rest = await new RestServer((_req, res) => sendJson(res, 200, { ok: true })).start();
  const cloud = await new FakeCloud({ token: 'token-one' }).start();
  cleanups.push(() => rest.stop(), () => cloud.stop());
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'token-one\n', { mode: 0o600 });
  const configFile = join(dir, 'config.json');
  const config = { cloud: { url: cloud.url, tokenFile }, rest: { baseUrl: rest.url }, reconnect: { minMs: 50, maxMs: 200 } };
  writeFileSync(configFile, JSON.stringify(config));
  const child: ChildProcess = spawn(process.execPath, [join(root, 'bin', 'nbwss-bridge'), 'run', '--config', configFile], {
    cwd: root,
    env: childEnv({ PATH: process.env.PATH ?? '' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { dir, rest, cloud, child, tokenFile, configFile, config, output: () => out };
}

describe('SIGHUP', () => {
  it('takes a rotated token file: the next CONNECT carries the new token, and the old connection is replaced gracefully', async () => {
    const { cloud, child, tokenFile, output } = await setup();
    const first = await cloud.readyPeer(0, 15_000);
    expect(first.messages[0]?.payload.token).toBe('token-one');
    writeFileSync(tokenFile, 'token-two\n');
    cloud.token = 'token-two';
    child.kill('SIGHUP');
    const second = await cloud.readyPeer(1, 5000);
    expect(second.messages[0]?.payload.token).toBe('token-two');
    expect(second.connectValid).toBe(true);
    expect(await first.closed).toBe(1001);
    expect((await second.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    expect(output()).toContain('configuration reloaded');
    expect(output()).not.toContain('token-two');
  }, 30_000);

  it('refuses an invalid new configuration with one log line and keeps serving with the old one', async () => {
    const { cloud, child, configFile, output } = await setup();
    const peer = await cloud.readyPeer(0, 15_000);
    writeFileSync(configFile, '{ "cloud": { "url": ');
    child.kill('SIGHUP');
    await until(() => output().includes('new configuration refused'), 5000, 'the refusal');
    const line = output().split('\n').find((l) => l.includes('new configuration refused')) ?? '';
    expect(JSON.parse(line)).toMatchObject({ level: 'error', code: 'NBW_ERR_CONFIG', problems: [expect.stringMatching(/not valid JSON/)] });
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    expect(cloud.peers).toHaveLength(1);
    expect(child.exitCode).toBeNull();
  }, 30_000);
});

describe('reload in process', () => {
  let bridge: TestBridge | null = null;
  afterEach(async () => {
    await bridge?.close();
    bridge = null;
  });

  it('aborts at the end of the grace period the calls still running on backends a reload replaced', async () => {
    const held: (() => void)[] = [];
    bridge = await startBridge({ rest: () => new Promise<void>((r) => held.push(r)), config: { 'shutdown.graceMs': '200' } });
    const { daemon, peer, config } = bridge;
    const answer = peer.command('GET', '/netbackup/admin/jobs', { timeoutMs: 10_000 });
    await until(() => held.length === 1, 5000, 'the call reaching the REST API');
    const next = loadConfig({
      env: {},
      overrides: { 'cloud.url': config.cloud.url as string, 'cloud.token': config.cloud.token as string, 'rest.baseUrl': config.rest.baseUrl, 'rest.allowedPaths': '/netbackup/config/', 'shutdown.graceMs': '200' },
      purpose: 'run',
    }).config;
    daemon.reload(next);
    const stopped = daemon.stop('test');
    const res = await answer;
    expect(res.payload.responseCode).toBe(504);
    expect(JSON.parse(res.payload.body as string).errorMessage).toMatch(/outcome is unknown/);
    await stopped;
    for (const release of held) release();
  });

  it('applies a new policy to new requests and names the changes that need a restart', async () => {
    bridge = await startBridge({});
    const { daemon, peer, config } = bridge;
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    const next = loadConfig({
      env: {},
      overrides: { 'cloud.url': config.cloud.url as string, 'cloud.token': config.cloud.token as string, 'rest.baseUrl': config.rest.baseUrl, 'rest.allowedPaths': '/netbackup/config/', 'queue.concurrency': '3', 'log.level': 'warn' },
      purpose: 'run',
    }).config;
    const needsRestart = daemon.reload(next);
    expect(needsRestart).toContain('queue.concurrency');
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(403);
    expect((await peer.command('GET', '/netbackup/config/hosts')).payload.responseCode).toBe(200);
    expect(bridge.logs.lines().some((l) => l.msg === 'configuration reloaded; some changes need a restart to apply')).toBe(true);
    const before = bridge.logs.lines().length;
    await peer.command('GET', '/netbackup/config/hosts');
    expect(bridge.logs.lines().slice(before).filter((l) => l.level === 'debug')).toEqual([]);
    expect(bridge.cloud.peers).toHaveLength(1);
  });
});
