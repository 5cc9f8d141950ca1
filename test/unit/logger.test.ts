import { describe, expect, it } from 'vitest';
import { PROFILES, SECRET_NAMES } from '../../src/backends/auth/registry.js';
import { captureLog } from '../support/log.js';

describe('logger redaction', () => {
  it('redacts secrets wherever the fixed paths put them', () => {
    const { log, text } = captureLog('trace');
    const secret = 'S3CR3T-value';
    log.info({ token: secret, headers: { authorization: secret, Authorization: secret, cookie: secret } }, 'a');
    log.info({ req: { headers: { authorization: secret, 'set-cookie': secret } } }, 'b');
    log.info({ cloud: { token: secret }, parameters: secret, body: secret, x: { password: secret } }, 'c');
    log.child({ mod: 'm' }).warn({ apiKey: secret, deep: { a: { password: secret } } }, 'd');
    log.info({ a: { b: { headers: { 'x-restsvcsessionid': secret, 'X-RestSvcSessionId': secret, 'Set-Cookie': secret } } } }, 'e');
    expect(text()).not.toContain(secret);
    expect(text()).toContain('[redacted]');
  });

  it.each(['authorization', 'Authorization', 'token', 'password', 'passwd', 'apiKey', 'apikey', 'cookie', 'Cookie', 'set-cookie', 'Set-Cookie', 'sessionId', 'x-restsvcsessionid', 'X-RestSvcSessionId', 'parameters', 'body'])(
    'redacts %s at the top level, one to three levels down and under headers',
    (name) => {
      const { log, text } = captureLog('trace');
      const secret = `S3CR3T-${name}`;
      log.info({ [name]: secret }, 'top');
      log.info({ a: { [name]: secret }, headers: { [name]: secret } }, 'one');
      log.info({ a: { b: { [name]: secret } }, req: { headers: { [name]: secret } } }, 'two');
      log.info({ a: { b: { c: { [name]: secret } } } }, 'three');
      expect(text()).not.toContain(secret);
    },
  );

  it('redacts every secret an auth profile declares, in each spelling, without a hand list', () => {
    const { log, text } = captureLog('trace');
    const secret = 'S3CR3T-declared';
    const declared = [...PROFILES.values()].flatMap((p) => [
      ...Object.values(p.keys).flatMap((k) => (k.secret ? [k.secret] : [])),
      ...p.sets.headers,
      ...(p.sets.body ?? []),
    ]);
    expect(declared.length).toBeGreaterThan(5);
    for (const name of declared) {
      expect(SECRET_NAMES).toContain(name);
      const header = name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
      log.info({ [name]: secret, headers: { [name]: secret, [header]: secret }, req: { headers: { [name]: secret } }, auth: { [name]: secret } }, 'x');
    }
    expect(text()).not.toContain(secret);
  });

  it('writes JSON lines with a level label, time and message', () => {
    const { log, lines } = captureLog('info');
    log.child({ mod: 'link' }).info({ conn: 1 }, 'connected');
    expect(lines()[0]).toMatchObject({ level: 'info', name: 'nbwss-bridge', mod: 'link', conn: 1, msg: 'connected' });
    expect(typeof lines()[0]?.time).toBe('string');
  });
});

describe('log fields', () => {
  it('writes an id of up to 128 characters whole, and cuts a longer one saying how long it was', async () => {
    const { logId } = await import('../../src/log/fields.js');
    expect(logId(undefined)).toBeUndefined();
    expect(logId('a'.repeat(128))).toBe('a'.repeat(128));
    expect(logId('a'.repeat(129))).toBe(`${'a'.repeat(128)}… (129 characters)`);
  });

  it('names the process on every line, and a silent logger writes nothing at any level', async () => {
    const { createLogger } = await import('../../src/lifecycle/logger.js');
    const { silentLogger } = await import('../../src/log/logger.js');
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } as never });
    log.info('x');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ pid: process.pid, name: 'nbwss-bridge', level: 'info', msg: 'x' });
    expect(silentLogger().isLevelEnabled('fatal')).toBe(false);
  });
});
