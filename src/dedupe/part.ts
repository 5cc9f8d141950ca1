// The dedupe part: the id store, its journal in state.dir (read back at open), and the sweeper
// that expires old ids. First in the daemon's list, so the journal closes last.
import type { Config } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { changedKeys, type Part } from '../part.js';
import { IdStore } from './idstore.js';
import { Journal, type JournalRecord } from './journal.js';

const RESTART_ONLY = ['dedupe.ttlMs', 'dedupe.maxEntries', 'dedupe.maxBytes', 'state.dir'] as const;

/** How often expired ids are swept: half their lifetime, at least every 30 s. */
export const sweepEvery = (ttlMs: number): number => Math.min(ttlMs / 2, 30_000);

export class DedupePart implements Part {
  readonly name = 'dedupe';
  readonly store: IdStore;
  readonly #journal: Journal | null;
  readonly #sweepMs: number;
  #sweeper: NodeJS.Timeout | null = null;

  private constructor(config: Config, journal: Journal | null, log: Logger) {
    this.#journal = journal;
    this.#sweepMs = sweepEvery(config.dedupe.ttlMs);
    this.store = new IdStore({ ...config.dedupe, journal, log });
  }

  /**
   * Opens the journal in state.dir (when set) and restores the ids it holds for `groups`. A state
   * dir that cannot be used is a ConfigError naming state.dir.
   */
  static async open(config: Config, groups: Iterable<string>, log: Logger): Promise<DedupePart> {
    const dir = config.state.dir;
    if (dir === null) return new DedupePart(config, null, log);
    let opened: { journal: Journal; records: JournalRecord[] };
    try {
      opened = await Journal.open(dir, log);
    } catch (err) {
      throw new ConfigError([`state.dir: cannot use ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    const part = new DedupePart(config, opened.journal, log);
    const { migrated, ...restored } = part.store.restore(opened.records, groups);
    await part.store.compact();
    log.info({ dir, ...restored }, 'state restored from the journal');
    // Stryker disable next-line ConditionalExpression,EqualityOperator: only decides whether a log line is written
    if (migrated > 0) log.info({ records: migrated }, 'journal records of an earlier version read and rewritten with their endpoint group');
    return part;
  }

  start(): void {
    this.#sweeper = setInterval(() => this.store.sweep(), this.#sweepMs);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: clearing no timer does nothing, and the sweeper is unref'd
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.#journal?.close();
  }

  reload(prev: Config, next: Config): string[] {
    return changedKeys(prev, next, RESTART_ONLY);
  }
}
