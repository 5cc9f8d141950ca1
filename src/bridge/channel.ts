// Where a message came from and where its answer goes: what the dispatcher hands each handler.
import type { IdEntry } from '../dedupe/idstore.js';

/** Where answers go: a group's courier sends them on its link, `replay` prints them. */
export interface Answerer {
  /** `key` is the id's key in the store (see keyOf); the frame carries the id itself. */
  deliver(key: string, frame: string, entry?: IdEntry): void;
  /** True when a repeat of this answered id needs no answer of its own (see Courier). */
  crossedOnTheWay(entry: IdEntry): boolean;
  /** True while a copy of this id's answer is still being written to the current connection. */
  onItsWay(entry: IdEntry): boolean;
}

/** Where a request came from, and where its answer goes. */
export interface Channel {
  /** The endpoint group it arrived from. */
  readonly group: string;
  /** The connection it arrived on (0: not from a connection, e.g. replay). */
  readonly connection: number;
  readonly answers: Answerer;
}
