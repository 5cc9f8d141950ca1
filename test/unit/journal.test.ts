import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/dedupe/crc32.js';
import { decodeJournal, encodeRecord, Journal, JOURNAL_FILE, type JournalRecord } from '../../src/dedupe/journal.js';
import { captureLog } from '../support/log.js';

const dir = () => mkdtempSync(join(tmpdir(), 'nbwss-journal-'));
const S: JournalRecord = { t: 's', id: 'A', m: 'POST', at: 1 };
const D: JournalRecord = { t: 'd', id: 'A', m: 'POST', at: 2, f: '{"payload":"Zürich \\"q\\"\\n"}' };

describe('journal records', () => {
  it('round-trip through the line format', () => {
    const buf = Buffer.concat([encodeRecord(S), encodeRecord(D)]);
    expect(decodeJournal(buf)).toEqual({ records: [S, D], validBytes: buf.length });
    expect(buf.toString('utf8')).toMatch(/^[0-9a-f]{8} \{"t":"s"/);
  });

  it('stop at a truncated last line', () => {
    const good = encodeRecord(S);
    const buf = Buffer.concat([good, encodeRecord(D).subarray(0, 20)]);
    expect(decodeJournal(buf)).toEqual({ records: [S], validBytes: good.length });
  });

  it('stop at a line whose checksum does not match (a flipped byte)', () => {
    const good = encodeRecord(S);
    const bad = Buffer.from(encodeRecord(D));
    bad[30] = (bad[30] as number) ^ 0x01;
    expect(decodeJournal(Buffer.concat([good, bad, encodeRecord(S)])).records).toEqual([S]);
  });

  it('stop at a line that checks out but is no record', () => {
    const json = Buffer.from('{"t":"zz","id":"A"}');
    const fake = Buffer.concat([Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `), json, Buffer.from('\n')]);
    expect(decodeJournal(Buffer.concat([encodeRecord(S), fake])).records).toEqual([S]);
  });

  it.each([
    ['a number', '1'],
    ['null', 'null'],
    ['a list', '[]'],
    ['no id', '{"t":"s","m":"GET","at":1}'],
    ['an id that is no string', '{"t":"s","id":1,"m":"GET","at":1}'],
    ['no time', '{"t":"s","id":"A","m":"GET"}'],
    ['a time that is no number', '{"t":"s","id":"A","m":"GET","at":"1"}'],
    ['no method', '{"t":"s","id":"A","at":1}'],
    ['a method that is no string', '{"t":"s","id":"A","m":1,"at":1}'],
    ['a group that is no string', '{"t":"s","g":7,"id":"A","m":"GET","at":1}'],
    ['an answer without its frame', '{"t":"d","id":"A","m":"GET","at":1}'],
    ['an answer whose frame is no string', '{"t":"d","id":"A","m":"GET","at":1,"f":{}}'],
    ['an unknown kind', '{"t":"x","id":"A","m":"GET","at":1}'],
    ['an unknown kind with a frame', '{"t":"x","id":"A","m":"GET","at":1,"f":"{}"}'],
    ['no kind', '{"id":"A","m":"GET","at":1}'],
  ])('stop at a line that checks out but holds %s', (_, text) => {
    const json = Buffer.from(text);
    const line = Buffer.concat([Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `), json, Buffer.from('\n')]);
    const buf = Buffer.concat([encodeRecord(S), line, encodeRecord(S)]);
    expect(decodeJournal(buf)).toEqual({ records: [S], validBytes: encodeRecord(S).length });
  });

  it('take every kind of record, with or without a group', () => {
    const recs: JournalRecord[] = [
      { t: 's', g: 'east', id: 'A', m: 'GET', at: 1 },
      { t: 'd', g: 'east', id: 'A', m: 'GET', at: 2, f: '{}' },
      { t: 'e', id: 'B', m: 'POST', at: 3 },
    ];
    const buf = Buffer.concat(recs.map(encodeRecord));
    expect(decodeJournal(buf)).toEqual({ records: recs, validBytes: buf.length });
  });

  it('stop at a line whose checksum is not followed by a space, or is written in capitals', () => {
    const json = Buffer.from(JSON.stringify(S));
    const crc = crc32(json).toString(16).padStart(8, '0');
    for (const head of [`${crc}X`, `${crc.toUpperCase()} `]) {
      if (head === `${crc.toUpperCase()} ` && crc === crc.toUpperCase()) continue;
      const line = Buffer.concat([Buffer.from(head), json, Buffer.from('\n')]);
      expect(decodeJournal(Buffer.concat([encodeRecord(D), line])).records).toEqual([D]);
    }
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
  });
});

describe('Journal', () => {
  it('appends durably and reads back what it wrote', async () => {
    const d = dir();
    const { journal, records } = await Journal.open(d, captureLog().log);
    expect(records).toEqual([]);
    await Promise.all([journal.append(S), journal.append(D)]);
    expect(journal.bytes).toBe(statSync(join(d, JOURNAL_FILE)).size);
    await journal.close();
    const again = await Journal.open(d, captureLog().log);
    expect(again.records).toEqual([S, D]);
    await again.journal.close();
  });

  it('cuts off a truncated tail at open, logs it, and keeps appending after the good part', async () => {
    const d = dir();
    const path = join(d, JOURNAL_FILE);
    writeFileSync(path, Buffer.concat([encodeRecord(S), encodeRecord(D).subarray(0, 25)]));
    const logs = captureLog();
    const { journal, records } = await Journal.open(d, logs.log);
    expect(records).toEqual([S]);
    expect(logs.lines()[0]).toMatchObject({ level: 'warn', code: 'NBW_ERR_JOURNAL_CORRUPT', cutBytes: 25 });
    expect(statSync(path).size).toBe(encodeRecord(S).length);
    await journal.append(D);
    await journal.close();
    expect((await Journal.open(d, captureLog().log)).records).toEqual([S, D]);
  });

  it('cuts off garbage appended by a crash', async () => {
    const d = dir();
    const path = join(d, JOURNAL_FILE);
    writeFileSync(path, encodeRecord(S));
    appendFileSync(path, 'garbage\n\x00\x00\x00');
    const { journal, records } = await Journal.open(d, captureLog().log);
    expect(records).toEqual([S]);
    await journal.close();
  });

  it('compacts to a snapshot, and appends made meanwhile land after it', async () => {
    const d = dir();
    const { journal } = await Journal.open(d, captureLog().log);
    for (let i = 0; i < 50; i++) await journal.append({ t: 's', id: `X${i}`, m: 'GET', at: i });
    const before = journal.bytes;
    const compacting = journal.compact(() => [D]);
    const late = journal.append({ t: 's', id: 'LATE', m: 'GET', at: 99 });
    await Promise.all([compacting, late]);
    expect(journal.bytes).toBeLessThan(before);
    expect(journal.bytes).toBe(statSync(join(d, JOURNAL_FILE)).size);
    await journal.close();
    expect(decodeJournal(readFileSync(join(d, JOURNAL_FILE))).records.map((r) => r.id)).toEqual(['A', 'LATE']);
  });

  it('opens a clean journal without a warning and without cutting anything', async () => {
    const d = dir();
    const path = join(d, JOURNAL_FILE);
    writeFileSync(path, Buffer.concat([encodeRecord(S), encodeRecord(D)]));
    const size = statSync(path).size;
    const logs = captureLog();
    const { journal, records } = await Journal.open(d, logs.log);
    expect(records).toEqual([S, D]);
    expect(logs.lines()).toEqual([]);
    expect(statSync(path).size).toBe(size);
    await journal.close();
  });

  it('refuses appends once closed, and closing twice is harmless', async () => {
    const { journal } = await Journal.open(dir(), captureLog().log);
    await journal.close();
    await journal.close();
    await expect(journal.append(S)).rejects.toThrow(/journal is closed/);
  });

  it('fails to open when the journal cannot be read (not a missing file)', async () => {
    const d = dir();
    mkdirSync(join(d, JOURNAL_FILE));
    await expect(Journal.open(d, captureLog().log)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('leaves no file open behind: compacting and closing release every handle', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      const { journal } = await Journal.open(dir(), captureLog().log);
      await journal.append(S);
      for (let j = 0; j < 4; j++) await journal.compact(() => [S, D]);
      await journal.close();
    }
    // Other handles of the process may close meanwhile; a leak would add one per compaction.
    expect(fds()).toBeLessThanOrEqual(before);
  });

  it('compacts a snapshot of several megabytes whole', async () => {
    const d = dir();
    const { journal } = await Journal.open(d, captureLog().log);
    const big = Array.from({ length: 3000 }, (_, i): JournalRecord => ({ t: 'd', id: `R${i}`, m: 'GET', at: i, f: 'x'.repeat(1000) }));
    await journal.compact(() => big);
    expect(journal.bytes).toBe(statSync(join(d, JOURNAL_FILE)).size);
    await journal.close();
    expect(decodeJournal(readFileSync(join(d, JOURNAL_FILE))).records).toEqual(big);
  });

  it('names the problem when the directory cannot be used', async () => {
    const d = dir();
    const file = join(d, 'a-file');
    writeFileSync(file, 'x');
    await expect(Journal.open(join(file, 'sub'), captureLog().log)).rejects.toMatchObject({ code: expect.stringMatching(/ENOTDIR|EEXIST/) });
  });
});
