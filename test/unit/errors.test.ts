import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_CODES, ANSWERED, AnsweredError, BridgeError, CODE, ConfigError, LinkError, PollError, UsageError } from '../../src/errors.js';

describe('errors', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set(doc.match(/NBW_ERR_[A-Z_]+/g));

  it('documents every code', () => {
    for (const code of ALL_CODES) expect(documented.has(code), code).toBe(true);
  });

  it('documents no code that does not exist', () => {
    for (const code of documented) expect(ALL_CODES.includes(code as never), code).toBe(true);
  });

  it('gives each answered error the status of its code', () => {
    for (const [code, status] of Object.entries(ANSWERED)) {
      const e = new AnsweredError(code as keyof typeof ANSWERED, 'x');
      expect(e.status).toBe(status);
      expect(doc).toMatch(new RegExp(`\\b${code}\\b.*\\b${status}\\b`));
    }
  });

  it('carries codes, not only messages', () => {
    expect(new ConfigError(['a: b', 'c: d'])).toMatchObject({ code: 'NBW_ERR_CONFIG', problems: ['a: b', 'c: d'] });
    expect(new LinkError('NBW_ERR_CONNECT_TIMEOUT', 'x', 1000)).toMatchObject({ code: 'NBW_ERR_CONNECT_TIMEOUT', closeCode: 1000 });
    expect(new PollError('/x: 503', 503, 2000)).toMatchObject({ code: 'NBW_ERR_POLL_FAILED', status: 503, retryAfterMs: 2000 });
    expect(new UsageError('unknown flag --x')).toMatchObject({ code: 'NBW_ERR_USAGE', message: 'unknown flag --x' });
    for (const e of [new PollError('x', 0), new UsageError('x'), new ConfigError(['x'])]) expect(e).toBeInstanceOf(BridgeError);
  });

  it('names every code once in CODE, each as itself', () => {
    expect(Object.keys(CODE).sort()).toEqual([...ALL_CODES].sort());
    for (const [k, v] of Object.entries(CODE)) expect(v).toBe(k);
    expect(Object.isFrozen(CODE)).toBe(true);
  });
});
