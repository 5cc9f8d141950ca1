// A part of the daemon: something with a lifecycle the daemon's loop drives (see
// lifecycle/parts.ts). Here, below every part, so that parts need not import the lifecycle.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config/load.js';

export interface Part {
  /** Names the part in log lines. */
  readonly name: string;
  start?(): void | Promise<void>;
  /** Releases what the part holds; called once, in reverse start order, also after a failed start. */
  stop?(): void | Promise<void>;
  /** Takes what it can of `next`; returns the keys that changed and that it only reads at start. */
  reload?(prev: Config, next: Config): string[];
}

/** The value at a dotted key ("queue.concurrency"). */
export const valueAt = (c: Config, key: string): unknown => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c);

/** Those of `keys` whose value differs between the two configurations. */
export function changedKeys(prev: Config, next: Config, keys: readonly string[]): string[] {
  return keys.filter((k) => !isDeepStrictEqual(valueAt(prev, k), valueAt(next, k)));
}

/** A part that is off: turning it on (any of `keys` changing) needs a restart. */
export function dormant(name: string, keys: readonly string[]): Part {
  return { name, reload: (prev, next) => changedKeys(prev, next, keys) };
}
