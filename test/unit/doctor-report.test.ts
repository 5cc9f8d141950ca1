// Pure parts of what doctor and the link say: the dial failure classifier, the escalation of
// failed dials, doctor's lines and exit code, and which systemd a unit needs.
import { describe, expect, it } from 'vitest';
import { exitCodeOf, fail, formatLines, ok, skip, warn } from '../../src/doctor/report.js';
import { unitNeeds } from '../../src/doctor/local.js';
import { classifyDial, type DialEvidence } from '../../src/link/cause.js';
import { DialEscalation } from '../../src/link/escalation.js';
import { renderUnit, SHIPPED, variantFor } from '../../src/service/unit.js';
import { captureLog } from '../support/log.js';

const ev = (error: string, more: Partial<DialEvidence> = {}): DialEvidence => ({ error, host: 'cloud.example:443', proxy: null, proxyStatus: null, caKey: 'cloud.caFile', ...more });

describe('classifyDial', () => {
  it.each([
    ['ENOTFOUND', 'dns', 'network'],
    ['EAI_AGAIN', 'dns', 'network'],
    ['ECONNREFUSED', 'connection_refused', 'network'],
    ['EHOSTUNREACH', 'unreachable', 'network'],
    ['ENETUNREACH', 'unreachable', 'network'],
    ['ETIMEDOUT', 'timeout', 'network'],
    ['Opening handshake has timed out', 'timeout', 'network'],
    ['ECONNRESET', 'reset', 'network'],
    ['EPIPE', 'reset', 'network'],
    ['CERT_HAS_EXPIRED', 'tls_expired', 'tls'],
    ['CERT_NOT_YET_VALID', 'tls_expired', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls_name', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls_untrusted', 'tls'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls_untrusted', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls_other', 'tls'],
    ['Unexpected server response: 404', 'http_status', 'cloud'],
    ['NBW_ERR_CONNECT_REFUSED', 'token_refused', 'cloud'],
    ['NBW_ERR_CONNECT_TIMEOUT', 'connect_timeout', 'cloud'],
    ['closed 1008 go away', 'closed', 'cloud'],
    ['something new', 'other', 'network'],
  ])('%s is %s on the %s side, with a cause and a fix', (error, reason, side) => {
    const f = classifyDial(ev(error));
    expect(f).toMatchObject({ reason, side });
    expect(f.cause.length).toBeGreaterThan(5);
    expect(f.hint.length).toBeGreaterThan(5);
  });

  it('blames the proxy for what happens on the way to it, and names a refused tunnel or a demand for credentials', () => {
    const proxy = 'http://proxy.corp:3128';
    expect(classifyDial(ev('ECONNREFUSED', { proxy }))).toMatchObject({ side: 'proxy', cause: expect.stringContaining('proxy.corp:3128') });
    expect(classifyDial(ev('ECONNRESET', { proxy }))).toMatchObject({ side: 'proxy' });
    expect(classifyDial(ev('Unexpected server response: 407', { proxy, proxyStatus: 407 }))).toMatchObject({ reason: 'proxy_auth', side: 'proxy' });
    expect(classifyDial(ev('Unexpected server response: 403', { proxy, proxyStatus: 403 }))).toMatchObject({ reason: 'proxy_refused', side: 'proxy', cause: expect.stringContaining('(403)') });
    expect(classifyDial(ev('Unexpected server response: 404', { proxy, proxyStatus: 200 }))).toMatchObject({ reason: 'http_status', side: 'cloud' });
    expect(classifyDial(ev('SELF_SIGNED_CERT_IN_CHAIN', { proxy })).cause).toMatch(/TLS-inspecting proxy/);
    expect(classifyDial(ev('ETIMEDOUT', { proxy })).cause).toContain('through the proxy');
  });

  it('names the key that sets the expected certificate name, where there is one', () => {
    expect(classifyDial(ev('ERR_TLS_CERT_ALTNAME_INVALID', { nameKey: 'rest.servername' })).hint).toContain('rest.servername');
    expect(classifyDial(ev('ERR_TLS_CERT_ALTNAME_INVALID')).hint).not.toContain('servername');
  });
});

describe('DialEscalation', () => {
  it('logs at info, then warn after warnAfter failures, then error once errorAfterMs have passed; and the recovery once', () => {
    let now = 0;
    const logs = captureLog();
    const e = new DialEscalation(logs.log, { warnAfter: 1, errorAfterMs: 1000, now: () => now });
    const failure = classifyDial(ev('ECONNREFUSED'));
    e.failed({}, failure);
    now = 500;
    e.failed({}, failure);
    now = 1000;
    e.failed({}, failure);
    e.ready();
    e.ready();
    const lines = logs.lines();
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'error', 'info']);
    expect(lines[2]).toMatchObject({ failedDials: 3, downMs: 1000, dialFailure: 'connection_refused' });
    expect(lines[3]).toMatchObject({ msg: 'connected after failed dials', failedDials: 3, downMs: 1000 });
  });
});

describe('doctor report', () => {
  it('prints one line per check with the fix under anything not ok, and a count', () => {
    const text = formatLines([ok('config', 'valid'), warn('state-dir', 'not set', 'set it'), fail('cloud-tcp', 'refused', 'open it', 'wss://c/x'), skip('clock', 'no Date')]);
    expect(text).toBe([
      'ok    config        valid',
      'warn  state-dir     not set',
      '                    fix: set it',
      'fail  cloud-tcp     wss://c/x: refused',
      '                    fix: open it',
      'skip  clock         no Date',
      '',
      '1 ok, 1 warn, 1 fail, 1 skipped',
      '',
    ].join('\n'));
  });

  it('exits 1 only when a check failed', () => {
    expect(exitCodeOf([ok('a', 'x'), warn('b', 'y', 'z'), skip('c', 'w')])).toBe(0);
    expect(exitCodeOf([ok('a', 'x'), fail('b', 'y', 'z')])).toBe(1);
  });
});

describe('units and systemd versions', () => {
  it('picks the credentials variant from 247, and the files variant before', () => {
    expect(variantFor(246)).toBe('files');
    expect(variantFor(247)).toBe('credentials');
    expect(variantFor(239)).toBe('files');
  });

  it('knows the systemd each shipped unit needs', () => {
    expect(unitNeeds(renderUnit(SHIPPED['nbwss-bridge.service'] as never))).toBe(247);
    expect(unitNeeds(renderUnit(SHIPPED['nbwss-bridge-v239.service'] as never))).toBe(239);
    expect(unitNeeds('[Service]\nType=exec\n')).toBe(240);
  });

  it('quotes an executable path with spaces or shell characters in ExecStart', () => {
    const unit = renderUnit({ variant: 'files', exec: ['/opt/my node/node', '/opt/x$y/bin'], credentials: [] });
    expect(unit).toMatch(/^ExecStart="\/opt\/my node\/node" \/opt\/x\$\$y\/bin run --config \/etc\/nbwss-bridge\/config\.json$/m);
    expect(renderUnit({ variant: 'files', exec: ['/opt/100%/node'], credentials: [] })).toMatch(/^ExecStart=\/opt\/100%%\/node run/m);
  });
});
