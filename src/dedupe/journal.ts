// The id journal: an append-only file of CRC-checked records in state.dir, made durable by
// group commit (one fdatasync covers every record appended while the previous one ran).
//
// Line format: `<crc32 as 8 hex digits> <record as JSON>\n`. A line whose CRC or JSON does
// not check out ends the usable journal: it and everything after it are cut off at open.
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { crc32 } from './crc32.js';
import { BridgeError, CODE } from '../errors.js';

/**
 * `s`: a call started. `d`: its answer (the whole COMMAND RESPONSE frame). `e`: answered, answer
 * released. `g` is the endpoint group that asked and `id` the id it used; records written before
 * ids were kept apart per group have no `g` (see IdStore.restore).
 */
export type JournalRecord =
  | { t: 's'; g?: string; id: string; m: string; at: number }
  | { t: 'd'; g?: string; id: string; m: string; at: number; f: string }
  | { t: 'e'; g?: string; id: string; m: string; at: number };

export const JOURNAL_FILE = 'journal.ndjson';

/** One record as a journal line. */
export function encodeRecord(rec: JournalRecord): Buffer {
  // Stryker disable next-line StringLiteral: Buffer.from takes an empty encoding as UTF-8, the encoding named
  const json = Buffer.from(JSON.stringify(rec), 'utf8');
  const head = Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `, 'latin1');
  return Buffer.concat([head, json, Buffer.from('\n')]);
}

function isRecord(v: unknown): v is JournalRecord {
  const r = v as Partial<Record<string, unknown>> | null;
  // Stryker disable next-line ConditionalExpression: a JSON value that is no object has no string id either
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || typeof r.at !== 'number' || typeof r.m !== 'string') return false;
  if (r.g !== undefined && typeof r.g !== 'string') return false;
  return r.t === 's' || r.t === 'e' || (r.t === 'd' && typeof r.f === 'string');
}

/** The records of a journal's bytes, and how many leading bytes hold them. */
export function decodeJournal(buf: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let pos = 0;
  // Stryker disable next-line EqualityOperator: at the end of the buffer no newline is found, which ends the loop all the same
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    // A line with no newline (nl is -1) is short too; one with at most a byte of JSON holds no record and is refused one step later.
    // Stryker disable next-line ConditionalExpression,LogicalOperator,UnaryOperator,EqualityOperator,ArithmeticOperator: see above; a missing space is tested
    if (nl - pos < 10) break;
    if (buf[pos + 8] !== 0x20) break;
    const json = buf.subarray(pos + 9, nl);
    // Stryker disable next-line StringLiteral: the checksum is ASCII hex, which every encoding Buffer falls back to reads alike
    if (buf.toString('latin1', pos, pos + 8) !== crc32(json).toString(16).padStart(8, '0')) break;
    let rec: unknown;
    try {
      rec = JSON.parse(json.toString('utf8'));
    } catch {
      break;
    }
    if (!isRecord(rec)) break;
    records.push(rec);
    pos = nl + 1;
  }
  return { records, validBytes: pos };
}

export class Journal {
  readonly #dir: string;
  readonly #path: string;
  readonly #log: Logger;
  #fh: FileHandle;
  #bytes: number;
  #pending: Buffer[] = [];
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Every file operation runs on this chain, one at a time. */
  #chain: Promise<void> = Promise.resolve();
  #flushQueued = false;
  #closed = false;

  private constructor(dir: string, fh: FileHandle, bytes: number, log: Logger) {
    this.#dir = dir;
    this.#path = join(dir, JOURNAL_FILE);
    this.#fh = fh;
    this.#bytes = bytes;
    this.#log = log;
  }

  /**
   * Opens (creating) the journal in `dir` and returns the records it holds. A corrupt or
   * truncated tail is logged and cut off.
   */
  static async open(dir: string, log: Logger): Promise<{ journal: Journal; records: JournalRecord[] }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, JOURNAL_FILE);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      // Stryker disable next-line ConditionalExpression: a journal that cannot be read cannot be opened for appending either, and fails there
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
    }
    const { records, validBytes } = decodeJournal(buf);
    const fh = await open(path, 'a+', 0o600);
    if (validBytes < buf.length) {
      log.warn(
        { code: CODE.NBW_ERR_JOURNAL_CORRUPT, path, validBytes, cutBytes: buf.length - validBytes, records: records.length },
        'journal has a corrupt or truncated tail; cut it off',
      );
      await fh.truncate(validBytes);
      await fh.datasync();
    }
    return { journal: new Journal(dir, fh, validBytes, log), records };
  }

  /** Bytes in the journal file, including what is being written. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends a record; settles once it is on disk (fdatasync). */
  append(rec: JournalRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new BridgeError('NBW_ERR_JOURNAL_WRITE', 'the state journal is closed'));
    const line = encodeRecord(rec);
    this.#bytes += line.length;
    this.#pending.push(line);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      this.#run(() => this.#flush());
    }
    return done;
  }

  /**
   * Replaces the file with `snapshot()` (taken when the rewrite runs, after every earlier
   * append is on disk): written to a temporary file, synced, renamed over the journal.
   */
  compact(snapshot: () => Iterable<JournalRecord>): Promise<void> {
    return this.#run(async () => {
      const tmp = `${this.#path}.tmp`;
      const out = await open(tmp, 'w', 0o600);
      let bytes = 0;
      try {
        const chunk: Buffer[] = [];
        let size = 0;
        for (const rec of snapshot()) {
          const line = encodeRecord(rec);
          chunk.push(line);
          size += line.length;
          // Stryker disable next-line ConditionalExpression,EqualityOperator: the chunk size bounds memory only; the file is the same whatever it is (tested with several megabytes)
          if (size > 1 << 20) {
            await out.writev(chunk.splice(0));
            bytes += size;
            size = 0;
          }
        }
        // Stryker disable next-line ConditionalExpression: writing an empty list of buffers writes nothing
        if (chunk.length) await out.writev(chunk);
        bytes += size;
        await out.datasync();
      } finally {
        await out.close();
      }
      await rename(tmp, this.#path);
      await syncDir(this.#dir);
      const before = this.#bytes;
      await this.#fh.close();
      this.#fh = await open(this.#path, 'a+', 0o600);
      // Appends made while compacting are pending and land in the new file after it.
      const pendingBytes = this.#pending.reduce((n, b) => n + b.length, 0);
      this.#bytes = bytes + pendingBytes;
      this.#log.debug({ before, after: this.#bytes }, 'journal compacted');
    });
  }

  async close(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: closing a file handle twice is harmless
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.#fh.close();
  }

  #run(op: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(op);
    this.#chain = next.catch(() => {});
    return next;
  }

  async #flush(): Promise<void> {
    this.#flushQueued = false;
    const lines = this.#pending.splice(0);
    const waiters = this.#waiters.splice(0);
    // Stryker disable next-line ConditionalExpression: an empty flush only syncs what is already on disk
    if (lines.length === 0) return;
    try {
      await this.#fh.writev(lines);
      await this.#fh.datasync();
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}

/**
 * Replaces the file at `path` with `text` (mode 0600) so that a crash leaves the old file or
 * the new one, never a part of either: a temporary file, synced, renamed over it, and the rename
 * made durable.
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/** Makes a rename in `dir` durable (fsync of the directory). */
// Stryker disable BlockStatement: what a directory fsync makes durable shows only after a power loss; its handle being closed is tested
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is then as durable as they make it.
  } finally {
    await fh.close();
  }
}
// Stryker restore BlockStatement
