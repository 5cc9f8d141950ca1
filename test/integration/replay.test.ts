// replay in-process: the same code as the daemon's, over files or standard input, answers in
// input order, one per id.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { framesOf, replayFiles } from '../../src/cli/replay.js';
import { loadConfig } from '../../src/config/load.js';
import { makeEnvelope, RestServer, sendJson } from '../support/fakes.js';
import { captureLog } from '../support/log.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const request = (id: string, uri = '/netbackup/admin/jobs', method = 'GET') => JSON.stringify(makeEnvelope('COMMAND', 'REQUEST', { uri, method, headers: {} }, id));

async function replay(inputs: Record<string, string>, files: string[]) {
  const rest = await new RestServer((req, res) => sendJson(res, 200, { path: req.url })).start();
  cleanups.push(() => rest.stop());
  const { config } = loadConfig({ env: { NBWSS_REST_BASE_URL: rest.url }, purpose: 'rest' });
  const out: string[] = [];
  const err: string[] = [];
  const code = await replayFiles(config, files, {
    log: captureLog('silent').log,
    out: (l) => void out.push(l),
    err: (l) => void err.push(l),
    read: (f) => {
      if (!(f in inputs)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return inputs[f] as string;
    },
  });
  return { code, out: out.map((l) => JSON.parse(l) as { id: string; payload: { responseCode: number } }), err, rest };
}

describe('replay', () => {
  it('answers NDJSON from standard input in order, a repeated id once for both lines, and exits 0', async () => {
    const r = await replay({ '-': [request('A'), request('B', '/forbidden'), request('A')].join('\n') }, ['-']);
    expect(r.code).toBe(0);
    expect(r.out.map((l) => [l.id, l.payload.responseCode])).toEqual([['A', 200], ['B', 403], ['A', 200]]);
    expect(r.rest.requests).toHaveLength(1);
  });

  it('names what it could not read or replay, by file and line, answers the rest, and exits 1', async () => {
    const r = await replay({ 'a.json': request('C'), 'b.ndjson': `${request('D')}\n{"not":"a request"}` }, ['a.json', 'missing.json', 'b.ndjson', '-']);
    expect(r.code).toBe(1);
    expect(r.err).toEqual(['missing.json: cannot read: ENOENT', 'standard input: cannot read: ENOENT', expect.stringMatching(/^b\.ndjson:2: not a COMMAND REQUEST/)]);
    expect(r.out.map((l) => l.id)).toEqual(['C', 'D']);
  });

  it('answers nothing and exits 0 for no requests; reads one document or one per line', async () => {
    const r = await replay({ 'empty.json': '' }, ['empty.json']);
    expect(r).toMatchObject({ code: 0, out: [] });
    expect(framesOf('{"a":1}')).toEqual(['{"a":1}']);
    expect(framesOf('{"a":1}\n\n{"b":2}\n')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads real files when given no reader', async () => {
    const rest = await new RestServer((_req, res) => sendJson(res, 200, {})).start();
    cleanups.push(() => rest.stop());
    const dir = mkdtempSync(join(tmpdir(), 'nbwss-replay-'));
    writeFileSync(join(dir, 'r.json'), request('E'));
    const { config } = loadConfig({ env: { NBWSS_REST_BASE_URL: rest.url }, purpose: 'rest' });
    const out: string[] = [];
    expect(await replayFiles(config, [join(dir, 'r.json')], { log: captureLog('silent').log, out: (l) => void out.push(l), err: () => {} })).toBe(0);
    expect(out).toHaveLength(1);
  });
});
