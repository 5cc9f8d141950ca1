// The shape of the source tree: small files, and a daemon that is only its loop of parts.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
const lines = (f: string) => readFileSync(f, 'utf8').split('\n').length - 1;

describe('the source tree', () => {
  it('has no file over 300 lines', () => {
    const long = files(src).filter((f) => lines(f) > 300).map((f) => `${relative(src, f)}: ${lines(f)}`);
    expect(long).toEqual([]);
  });

  it('keeps the daemon under 150 lines: its parts do the work', () => {
    expect(lines(join(src, 'lifecycle/daemon.ts'))).toBeLessThan(150);
  });
});

describe('error codes', () => {
  it('every code in a log line or error is named through the catalogue (CODE.*), never as a bare string', () => {
    const bare = files(src)
      .filter((f) => !f.endsWith('errors.ts'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, i) => [f, i + 1, l] as const))
      .filter(([, , l]) => /\bcode: ['"]NBW_ERR_/.test(l))
      .map(([f, n]) => `${relative(src, f)}:${n}`);
    expect(bare).toEqual([]);
  });
});
