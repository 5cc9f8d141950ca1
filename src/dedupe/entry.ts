// One id the bridge accepted, and the states it goes through.
import { textOf, type Answer } from './answers.js';

export type IdState = 'queued' | 'running' | 'done' | 'expired' | 'interrupted';

export interface IdEntry {
  /** The store key, `<group>:<id>` (keyOf). */
  readonly id: string;
  /** The endpoint group that asked. */
  readonly group: string;
  readonly method: string;
  state: IdState;
  /** The COMMAND RESPONSE frame, while `done`. */
  readonly frame: string | null;
  /** Where that frame is stored (see answers.ts); set by the ledger only. */
  answer: Answer | null;
  /** When it was accepted, or answered once `done`/`expired` (ms since the epoch). */
  at: number;
  /** The connection the latest request for this id arrived on (0: before this process, or no connection). */
  askedOn: number;
  /** The connection the answer last went out on, or null. */
  deliveredOn: number | null;
  /** Copies of the answer held for delivery or being written: while any is, the stored answer is kept. */
  pins: number;
  /** UTF-8 bytes counted for this entry: its key, and its answer while held. */
  bytes: number;
}

/** An entry as the store makes it: a class, so that every entry has the same compact shape. */
export class Entry implements IdEntry {
  answer: Answer | null = null;
  askedOn = 0;
  deliveredOn: number | null = null;
  pins = 0;
  bytes = 0;
  constructor(
    readonly id: string,
    readonly group: string,
    readonly method: string,
    public state: IdState,
    public at: number,
  ) {}

  get frame(): string | null {
    return this.answer === null ? null : textOf(this.answer);
  }
}

/** Waiting in the queue or running: never forgotten or released. */
export const inFlight = (e: IdEntry): boolean => e.state === 'queued' || e.state === 'running';
