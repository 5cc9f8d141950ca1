// A cloud that cannot be reached is visible: each failed dial names its cause and side, is
// counted in nbwss_dial_failures_total, and is logged louder the longer it lasts.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Link, type LinkOptions } from '../../src/link/link.js';
import { PrometheusTelemetry } from '../../src/metrics/prometheus.js';
import { FakeCloud } from '../support/fakes.js';
import { captureLog, type CapturedLog } from '../support/log.js';
import { httpsServer, TEST_CA2_FILE, type TestCert } from '../support/tls.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sources = { queueWaiting: () => 0, queueRunning: () => 0, outboxBytes: () => 0, storeIds: () => 0, storeBytes: () => 0, notificationsPending: () => 0 };

function dial(url: string, opts: Partial<LinkOptions> = {}): { link: Link; logs: CapturedLog; telemetry: PrometheusTelemetry } {
  const logs = captureLog();
  const telemetry = new PrometheusTelemetry(sources);
  const link = new Link({
    endpoints: [{ url, token: 'tok' }], ca: null, connectTimeoutMs: 500, heartbeatMs: 10_000, reconnect: { minMs: 20, maxMs: 40 },
    maxMessageBytes: 64 * 1024, perMessageDeflate: false, userAgent: 'nbwss-bridge/test', log: logs.log, telemetry, ...opts,
  });
  cleanups.push(() => link.stop());
  link.start();
  return { link, logs, telemetry };
}

const failures = (logs: CapturedLog) => logs.lines().filter((l) => typeof l.dialFailure === 'string');

async function firstFailure(logs: CapturedLog) {
  await until(() => failures(logs).length > 0, 5000, 'a failed dial');
  return failures(logs)[0] as Record<string, unknown>;
}


async function tlsCloud(cert: TestCert): Promise<string> {
  const server = httpsServer(undefined, cert);
  const cloud = await new FakeCloud({ token: 'tok', server }).start();
  cleanups.push(() => cloud.stop());
  return cloud.url;
}

describe('failed dials', () => {
  it('name a refused connection, count it by reason, and escalate from info to warn', async () => {
    const { logs, telemetry } = dial(`ws://127.0.0.1:${await freePort()}/x`);
    await until(() => failures(logs).length >= 4, 5000, 'four failed dials');
    const lines = failures(logs);
    expect(lines[0]).toMatchObject({ level: 'info', dialFailure: 'connection_refused', side: 'network', reason: 'ECONNREFUSED', failedDials: 1 });
    expect(String(lines[0]?.msg)).toMatch(/^cloud connection failed; retrying: 127\.0\.0\.1:\d+ refused the TCP connection$/);
    expect(lines[0]?.hint).toMatch(/cloud\.proxy or HTTPS_PROXY/);
    expect(lines.map((l) => l.level).slice(0, 4)).toEqual(['info', 'info', 'warn', 'warn']);
    expect(await telemetry.metrics()).toMatch(/nbwss_dial_failures_total\{group="default",endpoint="ws:\/\/127\.0\.0\.1:\d+\/x",reason="connection_refused"\} [4-9]/);
  });

  it('log at error once the group has been without a connection for the set time, and say so when it connects again', async () => {
    const port = await freePort();
    const { logs } = dial(`ws://127.0.0.1:${port}/nbwss/endpoint`, { escalation: { warnAfter: 1, errorAfterMs: 150 } });
    await until(() => failures(logs).some((l) => l.level === 'error'), 5000, 'an error line');
    const cloud = await new FakeCloud({ token: 'tok' }).start(port);
    cleanups.push(() => cloud.stop());
    await until(() => logs.lines().some((l) => l.msg === 'connected after failed dials'), 5000, 'the recovery line');
    expect(logs.lines().find((l) => l.msg === 'connected after failed dials')).toMatchObject({ level: 'info', failedDials: expect.any(Number), downMs: expect.any(Number) });
  });

  it('name a timeout: nothing answers the opening handshake', async () => {
    const silent = createServer(() => {}).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(() => void silent.close());
    const { logs } = dial(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/x`, { connectTimeoutMs: 200 });
    expect(await firstFailure(logs)).toMatchObject({ dialFailure: 'timeout', side: 'network' });
  });

  it('name an expired certificate and one for another name, on the TLS side', async () => {
    const expired = dial(await tlsCloud('expired'), { ca: readFileSync(TEST_CA2_FILE, 'utf8') });
    expect(await firstFailure(expired.logs)).toMatchObject({ dialFailure: 'tls_expired', side: 'tls', reason: 'CERT_HAS_EXPIRED' });
    const other = dial(await tlsCloud('othername'), { ca: readFileSync(TEST_CA2_FILE, 'utf8') });
    expect(await firstFailure(other.logs)).toMatchObject({ dialFailure: 'tls_name', side: 'tls', cause: expect.stringMatching(/certificate does not name localhost/) });
    const untrusted = dial(await tlsCloud('server'));
    expect(await firstFailure(untrusted.logs)).toMatchObject({ dialFailure: 'tls_untrusted', side: 'tls', hint: expect.stringMatching(/root CA's PEM \(not only an intermediate\) in cloud\.caFile/) });
  });

  it('name a proxy that asks for credentials (407) as the proxy, not the cloud', async () => {
    const proxy = createHttpServer();
    proxy.on('connect', (_req, socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n'));
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    cleanups.push(() => void proxy.close());
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const { logs, telemetry } = dial('wss://cloud.example/nbwss', { proxy: { url: proxyUrl, fromEnvironment: false, noProxy: [] } });
    const line = await firstFailure(logs);
    expect(line).toMatchObject({ dialFailure: 'proxy_auth', side: 'proxy' });
    expect(String(line.cause)).toMatch(/407 Proxy Authentication Required/);
    expect(await telemetry.metrics()).toMatch(/nbwss_dial_failures_total\{[^}]*reason="proxy_auth"\}/);
  });

  it('name a refused token as the cloud\'s answer, with how to rotate it', async () => {
    const cloud = await new FakeCloud({ token: 'other' }).start();
    cleanups.push(() => cloud.stop());
    const { logs } = dial(cloud.url);
    expect(await firstFailure(logs)).toMatchObject({ dialFailure: 'token_refused', side: 'cloud', hint: expect.stringMatching(/service rotate-token/) });
  });
});
