// Operations: health and metrics, the outbound proxy, endpoint groups with failover.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { bypassesProxy } from '../../src/link/proxy.js';
import { gate, sleep, startBridge, type TestBridge, type TestBridgeOptions } from '../support/bridge.js';
import { FakeCloud, RestServer, sendJson, type CloudPeer, type RestHandler } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { ConnectProxy } from '../support/proxy.js';
import { until } from '../support/wait.js';
import { VERSION as daemonVersion } from '../../src/constants.js';

const cleanups: (() => Promise<void> | void)[] = [];
let bridge: TestBridge | null = null;
afterEach(async () => {
  await bridge?.close();
  bridge = null;
  for (const c of cleanups.splice(0).reverse()) await c();
});
const start = async (opts: TestBridgeOptions) => (bridge = await startBridge(opts));


const get = async (base: string, path: string) => {
  const res = await fetch(`http://${base}${path}`);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
};

describe('health and metrics (metrics.listen)', () => {
  it('answers /healthz, flips /readyz with the connection, and exports the named series after traffic', async () => {
    const { daemon, peer, cloud } = await start({ config: { 'metrics.listen': '127.0.0.1:0' } });
    const base = daemon.metricsAddress;
    expect(base).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await get(base, '/healthz')).toMatchObject({ status: 200 });
    await until(async () => (await get(base, '/readyz')).status === 200, 5000, '/readyz 200 once the REST API is probed');
    expect(JSON.parse((await get(base, '/readyz')).text)).toMatchObject({ ready: true, reason: expect.stringMatching(/REST API answering/) });

    await peer.command('GET', '/netbackup/admin/jobs?secret-query=1', { id: 'METRIC-ID-1' });
    await peer.command('GET', '/forbidden');
    await peer.command('GET', '/netbackup/admin/jobs', { id: 'METRIC-ID-1' });
    const metrics = await get(base, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    const m = metrics.text;
    expect(m).toMatch(/^nbwss_connection_state\{group="default",endpoint="ws:\/\/127\.0\.0\.1:\d+\/nbwss\/endpoint"\} 3$/m);
    expect(m).toMatch(/^nbwss_connects_total\{group="default",endpoint="[^"]+"\} 1$/m);
    expect(m).toMatch(/^nbwss_commands_total\{backend="netbackup",method="GET",status_class="2xx"\} 1$/m);
    expect(m).toMatch(/^nbwss_commands_total\{backend="none",method="GET",status_class="4xx"\} 1$/m);
    expect(m).toMatch(new RegExp(`^nbwss_build_info\\{version="${daemonVersion}",node="${process.version}"\\} 1$`, 'm'));
    expect(m).toMatch(/^nbwss_bridge_errors_total\{code="NBW_ERR_POLICY_URI"\} 1$/m);
    expect(m).toMatch(/^nbwss_rest_duration_seconds_count\{backend="netbackup",method="GET"\} 1$/m);
    expect(m).toMatch(/^nbwss_dedupe_hits_total\{kind="replayed"\} 1$/m);
    for (const series of ['nbwss_queue_depth 0', 'nbwss_queue_in_flight 0', 'nbwss_outbox_bytes 0', 'nbwss_dedupe_ids 1']) expect(m).toContain(`\n${series}\n`);
    expect(m).toMatch(/^process_cpu_user_seconds_total /m);
    expect(m).toMatch(/^nodejs_eventloop_lag_seconds /m);
    for (const leak of ['METRIC-ID-1', 'secret-query', 'test-token', 'loopback-']) expect(m).not.toContain(leak);

    await cloud.stop();
    await until(async () => (await get(base, '/readyz')).status === 503, 5000, '/readyz 503');
    const down = JSON.parse((await get(base, '/readyz')).text);
    expect(down).toMatchObject({ ready: false });
    expect(down.reason).toMatch(/^cloud down: no connection has its CONNECT answered valid:true/);
    const after = (await get(base, '/metrics')).text;
    expect(after).toMatch(/^nbwss_disconnects_total\{group="default",endpoint="[^"]+",reason="(closed|error)"\} 1$/m);
    await until(async () => /nbwss_dial_failures_total\{group="default",endpoint="[^"]+",reason="connection_refused"\} [1-9]/.test((await get(base, '/metrics')).text), 5000, 'a failed dial counted');
    expect((await get(base, '/nothing')).status).toBe(404);
  });

  it('is not ready while the REST API does not answer, and says it is the REST side', async () => {
    const { daemon, rest } = await start({ config: { 'metrics.listen': '127.0.0.1:0', 'rest.probeMs': '100' } });
    const base = daemon.metricsAddress;
    await until(async () => (await get(base, '/readyz')).status === 200, 5000, 'ready');
    await rest.stop();
    await until(async () => (await get(base, '/readyz')).status === 503, 5000, '/readyz 503 with the REST API down');
    const r = JSON.parse((await get(base, '/readyz')).text) as { reason: string };
    expect(r.reason).toMatch(/^REST down: group default: connected to .*; REST API netbackup down: REST API unreachable: ECONNREFUSED$/);
  });

  it('is not ready while the CONNECT is refused, and counts the refusals', async () => {
    const { daemon, peer } = await start({ config: { 'metrics.listen': '127.0.0.1:0' }, answerConnect: false });
    const base = daemon.metricsAddress;
    const req = await peer.connectRequest();
    peer.send({ version: '1.0', id: req.id, type: 'CONNECT', subType: 'RESPONSE', timeStamp: 1, payload: { valid: false } });
    await until(async () => /nbwss_connect_refusals_total\{[^}]+\} [1-9]/.test((await get(base, '/metrics')).text), 3000, 'a refusal counted');
    expect((await get(base, '/readyz')).status).toBe(503);
  });

  it('stops start-up with a line naming metrics.listen when the port is taken', async () => {
    const first = await start({ config: { 'metrics.listen': '127.0.0.1:0' } });
    const { config } = loadConfig({ env: {}, overrides: { 'cloud.url': first.cloud.url, 'cloud.token': 't', 'metrics.listen': first.daemon.metricsAddress }, purpose: 'run' });
    const second = await Daemon.open(config, captureLog().log);
    await expect(second.start()).rejects.toMatchObject({ problems: [expect.stringMatching(/^metrics\.listen: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/)] });
    await second.stop();
  });

  it('is off unless metrics.listen is set', async () => {
    const { daemon } = await start({});
    expect(daemon.metricsAddress).toBe('');
  });
});

describe('the outbound proxy', () => {
  async function proxy() {
    const p = await new ConnectProxy().start();
    cleanups.push(() => p.stop());
    return p;
  }

  it('dials the cloud through cloud.proxy, and never sends REST calls through it', async () => {
    const p = await proxy();
    const { peer, cloud, rest } = await start({ config: { 'cloud.proxy': p.url } });
    expect(p.tunnels).toEqual([`127.0.0.1:${cloud.port}`]);
    expect((await peer.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    expect(rest.requests).toHaveLength(1);
    expect(p.tunnels).toHaveLength(1);
  });

  it('uses HTTPS_PROXY when cloud.proxy is unset, and NO_PROXY exempts hosts from it', async () => {
    const p = await proxy();
    const via = await start({ env: { HTTPS_PROXY: p.url } });
    expect(p.tunnels).toEqual([`127.0.0.1:${via.cloud.port}`]);
    await via.close();
    bridge = null;
    const direct = await start({ env: { https_proxy: p.url, NO_PROXY: 'example.com,127.0.0.1' } });
    expect(direct.peer.connectValid).toBe(true);
    expect(p.tunnels).toHaveLength(1);
  });

  it('sends proxy credentials to the proxy and never logs them', async () => {
    const p = await proxy();
    const url = p.url.replace('http://', 'http://svc-bridge:Pr0xy-S3cret@');
    const { logs, daemon } = await start({ config: { 'cloud.proxy': url } });
    expect(p.auth[0]).toBe(`Basic ${Buffer.from('svc-bridge:Pr0xy-S3cret').toString('base64')}`);
    await daemon.stop();
    expect(logs.text()).not.toContain('Pr0xy-S3cret');
  });

  it('matches NO_PROXY entries by name, domain suffix, port and *', () => {
    const u = new URL('wss://cloud.example.com:443/x');
    expect(bypassesProxy(u, ['example.com'])).toBe(true);
    expect(bypassesProxy(u, ['.example.com'])).toBe(true);
    expect(bypassesProxy(u, ['*.example.com'])).toBe(true);
    expect(bypassesProxy(u, ['example.com:443'])).toBe(true);
    expect(bypassesProxy(u, ['example.com:8443'])).toBe(false);
    expect(bypassesProxy(u, ['ample.com'])).toBe(false);
    expect(bypassesProxy(u, ['*'])).toBe(true);
    expect(bypassesProxy(new URL('ws://[::1]:80/'), ['::1'])).toBe(true);
  });

  it('matches NO_PROXY CIDR ranges against address literals, IPv4 and IPv6, and never against names', () => {
    expect(bypassesProxy(new URL('ws://127.0.0.1:8080/x'), ['127.0.0.0/8'])).toBe(true);
    expect(bypassesProxy(new URL('wss://10.20.30.40/x'), ['192.168.0.0/16', '10.0.0.0/8'])).toBe(true);
    expect(bypassesProxy(new URL('wss://11.0.0.1/x'), ['10.0.0.0/8'])).toBe(false);
    expect(bypassesProxy(new URL('wss://[fd00::5]/x'), ['fd00::/8'])).toBe(true);
    expect(bypassesProxy(new URL('wss://[fe80::5]/x'), ['fd00::/8', '10.0.0.0/8'])).toBe(false);
    expect(bypassesProxy(new URL('wss://cloud.example.com/x'), ['0.0.0.0/0'])).toBe(false);
    expect(bypassesProxy(new URL('wss://10.0.0.1/x'), ['10.0.0.0/99', 'not/a/range'])).toBe(false);
  });
});

describe('endpoint groups and failover', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-groups-'));

  async function cloudSim(token: string, port = 0) {
    const c = await new FakeCloud({ token }).start(port);
    cleanups.push(() => c.stop());
    return c;
  }

  async function daemonWith(endpoints: object[], rest: RestServer, extra: Record<string, unknown> = {}) {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ cloud: { endpoints }, rest: { baseUrl: rest.url }, reconnect: { minMs: 50, maxMs: 200 }, ...extra }));
    const { config } = loadConfig({ env: {}, configFile: file, purpose: 'run' });
    const logs = captureLog();
    const d = await Daemon.open(config, logs.log);
    await d.start();
    cleanups.push(() => d.stop());
    return { d, logs };
  }

  async function restSim(handler: RestHandler = (_r, res) => sendJson(res, 200, { ok: true })) {
    const r = await new RestServer(handler).start();
    cleanups.push(() => r.stop());
    return r;
  }

  it('with connection.failBack: connects to the best reachable endpoint of a group, and moves back to a better one once it answers, finishing in-flight answers on the old connection', async () => {
    const g = gate();
    const rest = await restSim((req, res) => (req.url.includes('/slow') ? g.handler(req, res) : sendJson(res, 200, { ok: true })));
    const backup = await cloudSim('tok-b');
    // The preferred endpoint is down at first: reserve a port for it.
    const probe = await cloudSim('tok-a');
    const preferredPort = probe.port;
    await probe.stop();
    const { d } = await daemonWith(
      [
        { url: `ws://127.0.0.1:${preferredPort}/nbwss`, token: 'tok-a', group: 'gold', priority: 0 },
        { url: backup.url, token: 'tok-b', group: 'gold', priority: 1 },
      ],
      rest,
      { connection: { periodMs: 300, failBack: true } },
    );
    const onBackup = await backup.readyPeer(0, 5000);
    const id = onBackup.sendCommand('POST', '/netbackup/config/slow', { parameters: '{}' });
    await until(() => rest.requests.length === 1, 2000, 'the call on the backup endpoint');

    const preferred = await cloudSim('tok-a', preferredPort);
    const onPreferred = await preferred.readyPeer(0, 5000);
    await until(() => d.link.endpoint?.includes(String(preferredPort)) ?? false, 3000, 'the move');
    expect(onBackup.isClosed).toBe(false);
    expect((await onPreferred.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);

    g.release();
    expect((await onBackup.responseFor(id, 3000)).payload.responseCode).toBe(200);
    expect(onPreferred.responsesFor(id)).toHaveLength(0);
    expect(await onBackup.closed).toBe(1001);
  });

  it('as NetBackup by default: stays on the endpoint in use when a better one comes back, and starts from the best after a loss', async () => {
    const rest = await restSim();
    const backup = await cloudSim('tok-b');
    const probe = await cloudSim('tok-a');
    const preferredPort = probe.port;
    await probe.stop();
    const { d } = await daemonWith(
      [
        { url: `ws://127.0.0.1:${preferredPort}/nbwss`, token: 'tok-a', group: 'gold', priority: 0 },
        { url: backup.url, token: 'tok-b', group: 'gold', priority: 1 },
      ],
      rest,
      { connection: { periodMs: 200 } },
    );
    const onBackup = await backup.readyPeer(0, 5000);
    const preferred = await cloudSim('tok-a', preferredPort);
    // Several periods pass: no second connection in the group, the one in use keeps serving.
    await new Promise((r) => setTimeout(r, 1200));
    expect(preferred.peers).toHaveLength(0);
    expect(d.link.endpoint).toContain(String(backup.port));
    expect((await onBackup.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    // The cloud closes it: the bridge starts again from the best endpoint.
    onBackup.ws.close(1001);
    const onPreferred = await preferred.readyPeer(0, 5000);
    expect((await onPreferred.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
    expect(backup.peers).toHaveLength(1);
  });

  it('fails over to the next endpoint when the one in use goes down', async () => {
    const rest = await restSim();
    const a = await cloudSim('tok');
    const b = await cloudSim('tok');
    await daemonWith(
      [
        { url: a.url, token: 'tok', priority: 0 },
        { url: b.url, token: 'tok', priority: 1 },
      ],
      rest,
    );
    await a.readyPeer(0, 5000);
    await a.stop();
    const onB = await b.readyPeer(0, 5000);
    expect((await onB.command('GET', '/netbackup/admin/jobs')).payload.responseCode).toBe(200);
  });

  it('keeps one connection per group, shares the queue, and keeps the ids of different groups apart', async () => {
    let calls = 0;
    const rest = await restSim((_r, res) => sendJson(res, 200, { call: ++calls }));
    const east = await cloudSim('tok-east');
    const west = await cloudSim('tok-west');
    const { d } = await daemonWith(
      [
        { url: east.url, token: 'tok-east', group: 'east' },
        { url: west.url, token: 'tok-west', group: 'west' },
      ],
      rest,
    );
    expect([...d.groups.keys()].sort()).toEqual(['east', 'west']);
    const pe = await east.readyPeer(0, 5000);
    const pw = await west.readyPeer(0, 5000);
    const [re, rw] = await Promise.all([pe.command('GET', '/netbackup/x', { id: 'SAME-ID' }), pw.command('GET', '/netbackup/x', { id: 'SAME-ID' })]);
    expect(re.payload.responseCode).toBe(200);
    expect(rw.payload.responseCode).toBe(200);
    expect(calls).toBe(2);
    expect(pe.responsesFor('SAME-ID')).toHaveLength(1);
    expect(pw.responsesFor('SAME-ID')).toHaveLength(1);
    expect(east.peers).toHaveLength(1);
    expect(west.peers).toHaveLength(1);
  });

  it('reads the endpoint details file a cloud application generates', async () => {
    const rest = await restSim();
    const c = await cloudSim('file-token');
    const file = join(dir, 'endpoints.json');
    writeFileSync(file, JSON.stringify({ endpoints: [{ url: c.url, token: 'file-token', group: 'g1', priority: 3 }] }));
    const { config } = loadConfig({ env: { NBWSS_ENDPOINTS_FILE: file, NBWSS_REST_BASE_URL: rest.url }, purpose: 'run' });
    expect(config.cloud.endpoints).toEqual([{ url: c.url, token: 'file-token', tokenFile: null, group: 'g1', priority: 3 }]);
    const d = await Daemon.open(config, captureLog().log);
    await d.start();
    cleanups.push(() => d.stop());
    await c.readyPeer(0, 5000);
  });

  it('refuses endpoint lists that are malformed, naming the entry', () => {
    const bad = (endpoints: unknown) => {
      const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({ cloud: { endpoints } }));
      try {
        loadConfig({ env: {}, configFile: file, purpose: 'run' });
      } catch (err) {
        return (err as { problems: string[] }).problems.join('\n');
      }
      return '';
    };
    expect(bad([{ url: 'wss://a.example/x' }])).toMatch(/cloud\.endpoints: \[0\] needs exactly one of token and tokenFile/);
    expect(bad([{ url: 'https://a.example/x', token: 't' }])).toMatch(/\[0\]\.url must be a ws or wss URL/);
    expect(bad([{ url: 'wss://a.example/x', token: 't', priority: -1 }])).toMatch(/\[0\]\.priority must be a whole number/);
    expect(bad([{ url: 'wss://a.example/x', token: 't', color: 'red' }])).toMatch(/\[0\] has an unknown key "color"/);
    expect(bad([{ url: 'ws://remote.example/x', token: 't' }])).toMatch(/plain ws:\/\/ to remote\.example/);
    expect(bad([{ url: 'wss://a.example/x', token: 't' }, { url: 'wss://a.example/x', token: 'u' }])).toMatch(/listed twice in group default/);
  });
});

export type { CloudPeer };
