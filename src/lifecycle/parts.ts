// The daemon is an ordered list of parts. Starting runs in order, stopping in reverse, and a
// reload asks each part what it takes and which changed keys only a restart applies: one loop
// each, no special cases for optional features (a feature that is off is not in the list).
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { Part } from '../part.js';
import { CODE } from '../errors.js';

export type { Part };

/**
 * Starts the parts in order. When one fails, it and the ones already started are stopped in
 * reverse and the failure is thrown.
 */
export async function startAll(parts: readonly Part[], log: Logger): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    try {
      await (parts[i] as Part).start?.();
    } catch (err) {
      await stopAll(parts.slice(0, i + 1), log);
      throw err;
    }
  }
}

/** Stops the parts in reverse order; a part that fails to stop is logged and the others still stop. */
export async function stopAll(parts: readonly Part[], log: Logger): Promise<void> {
  for (const part of [...parts].reverse()) {
    try {
      await part.stop?.();
    } catch (err) {
      log.error({ err, part: part.name, code: CODE.NBW_ERR_INTERNAL }, 'a part failed to stop; stopping the others');
    }
  }
}

/** Offers `next` to every part in order; returns the keys that need a restart, each once. */
export function reloadAll(parts: readonly Part[], prev: Config, next: Config): string[] {
  const keys = new Set<string>();
  for (const part of parts) for (const k of part.reload?.(prev, next) ?? []) keys.add(k);
  return [...keys];
}
