// What a notification type is: a poller that turns the REST API's answers into records, with
// the state it remembers between polls. A type is on when `notifications.<kind>` is true.
import type { Config } from '../config/load.js';
import type { UnknownValues } from './vocabulary.js';

/** A GET of the REST API: the parsed JSON answer, or a PollError. */
export type Get = (path: string, query: Record<string, string | number>) => Promise<unknown>;

export interface PollContext {
  /** The time of this poll (ms since the epoch). */
  readonly now: number;
  readonly config: Config['notifications'];
  /** Where values the vocabulary does not know are reported (once each). */
  readonly unknown: UnknownValues;
}

export interface Poller<S = unknown> {
  /** Names its switch (`notifications.<kind>`), its state in the state file and its metric label. */
  readonly kind: string;
  /** The notification's `object` ("JOB", "IMAGE"). */
  readonly object: string;
  /** The state before the first poll. */
  initial(): S;
  /** One poll: the records to report and the state to remember (the input is not changed). */
  poll(get: Get, prev: S, ctx: PollContext): Promise<{ records: Record<string, unknown>[]; state: S }>;
}

/** Declares a poller with its state type checked. */
export const poller = <S>(p: Poller<S>): Poller => p as unknown as Poller;
