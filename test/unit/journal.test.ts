import { mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/state/crc32.js';
import { decodeJournal, encodeRecord, Journal, JOURNAL_FILE, type JournalRecord } from '../../src/state/journal.js';
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

  it('names the problem when the directory cannot be used', async () => {
    const d = dir();
    const file = join(d, 'a-file');
    writeFileSync(file, 'x');
    await expect(Journal.open(join(file, 'sub'), captureLog().log)).rejects.toMatchObject({ code: expect.stringMatching(/ENOTDIR|EEXIST/) });
  });
});
