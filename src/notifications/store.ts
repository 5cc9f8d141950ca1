// The notifications' durable state in state.dir: poll cursors, the last known state of recent
// jobs and images, and every notification not yet acknowledged. Written whole and atomically
// (temporary file, fsync, rename, fsync of the directory), one write at a time.
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { replaceFile } from '../dedupe/journal.js';

export interface PendingNotification {
  /** The NOTIFICATION REQUEST's id, kept across resends and restarts. */
  readonly id: string;
  readonly object: string;
  readonly records: Record<string, unknown>[];
  /** Groups that have not acknowledged it yet. */
  groups: string[];
}

/** The pending notifications, and each poller's state under its kind ("jobs", "images"). */
export interface NotifyState {
  version: 1;
  pending: PendingNotification[];
  [kind: string]: unknown;
}

export const STATE_FILE = 'notifications.json';

export const freshState = (): NotifyState => ({ version: 1, pending: [] });

/** Reads the state; a missing file is a fresh start, an unreadable one is set aside and logged. */
export async function loadNotifyState(dir: string, log: Logger): Promise<NotifyState> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    // Stryker disable next-line StringLiteral: without an encoding the file comes back as bytes, which JSON.parse reads as UTF-8 all the same
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return freshState();
    throw err;
  }
  try {
    const state = JSON.parse(text) as NotifyState;
    if (state.version !== 1 || !Array.isArray(state.pending)) throw new Error('unknown layout');
    return state;
  } catch (err) {
    const aside = `${path}.unreadable-${Date.now()}`;
    await rename(path, aside);
    log.error({ path, aside, err: (err as Error).message }, 'notification state unreadable; set aside, starting fresh (jobs are reported from now on)');
    return freshState();
  }
}

export class StateFile {
  readonly #dir: string;
  readonly #path: string;
  #chain: Promise<void> = Promise.resolve();
  /** A write that has not started yet: later saves share it. */
  #queued: Promise<void> | null = null;
  #latest: () => NotifyState = freshState;

  constructor(dir: string) {
    this.#dir = dir;
    this.#path = join(dir, STATE_FILE);
  }

  /**
   * Writes the state atomically; settles once a write that took its snapshot after this call
   * is on disk. Saves made while a write waits share it (the snapshot is taken when it starts).
   */
  save(snapshot: () => NotifyState): Promise<void> {
    this.#latest = snapshot;
    // Stryker disable next-line ConditionalExpression: sharing a waiting write saves work; writing each snapshot leaves the same file
    if (this.#queued) return this.#queued;
    const write = this.#chain.then(() => {
      this.#queued = null;
      return this.#write(this.#latest());
    });
    this.#queued = write;
    this.#chain = write.catch(() => {});
    return write;
  }

  async #write(state: NotifyState): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await replaceFile(this.#path, JSON.stringify(state));
  }
}
