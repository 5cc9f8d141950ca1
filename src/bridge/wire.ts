// The courier's side of the wire: the link as it sees it, what a closed connection reports,
// an answer on its way, and the rules for answers the cloud refuses.
import type { IdEntry } from '../dedupe/idstore.js';
import type { Held } from './outbox.js';

/** The link as the courier sees it. */
export interface Outlet {
  readonly ready: boolean;
  /** Number of the current connection. */
  readonly connection: number;
  /** Bytes queued on the socket, not yet written. */
  readonly bufferedAmount: number;
  /**
   * Sends a frame, on connection `prefer` while it is open, else on the current one; `done`
   * runs once it is written, with an error when it could not be. `tag` comes back in the
   * connection's close report when it was the largest frame sent. Returns the connection used, 0 if none.
   */
  send(text: string, done: (err?: Error) => void, prefer?: number, tag?: unknown): number;
  /** Calls `read` once connection `connection` proves the cloud read what was written on it so far; false when it cannot. */
  awaitRead(connection: number, read: () => void): boolean;
}

/** What the link reports when a connection that carried answers is closed. */
export interface ClosedConnection {
  connection: number;
  /** The cloud's close code; null when the socket broke or the bridge ended it. */
  peerCode: number | null;
  /** The largest frame sent on it, tagged by whoever sent it. */
  largest: { bytes: number; tag: unknown } | null;
}

/** The close code of a cloud that refuses a message as too big. */
export const TOO_BIG = 1009;
/** Clean closes say nothing about the answer being written. */
export const CLEAN = new Set([1000, 1001]);
/** Connections that broke while one answer was being written, before it counts as one the cloud cannot take. */
export const STRIKES = 2;
/**
 * Only answers at least this large count a break against them: a cloud that cannot take
 * smaller messages says so with 1009, and a small answer caught in two ordinary breaks must
 * not turn into an error.
 */
export const STRIKE_FLOOR = 64 * 1024;
/** Answers remembered with a strike, at most (a strike is forgotten once its answer is written). */
export const MAX_STRIKES = 4096;
/**
 * How long after the next connection is up the answers written on a connection that then
 * broke, before the cloud proved it read them, stay held in the store: long enough for the
 * cloud's resends, which get them from the store.
 */
export const GRACE_MS = 30_000;

/** An answer handed to a connection and not yet written whole. */
export interface OnWire {
  readonly item: Held;
  readonly entry: IdEntry | undefined;
  /** The connection it was handed to (0 until send returns). */
  conn: number;
  /** Written whole, or taken back when its connection closed. */
  settled: boolean;
}

/** True for the tag the courier puts on the frames it sends (a held answer). */
export function isHeld(tag: unknown): tag is Held {
  return typeof tag === 'object' && tag !== null && 'seq' in tag && 'frame' in tag;
}
